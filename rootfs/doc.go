// Package rootfs owns the read-only root filesystems jails run on: building
// them from Debian packages, importing them from a directory or tarball,
// checking them for anything a jail must not be given, naming them by the
// digest of their content, and finding them again.
//
// # Store layout
//
// A Store is one directory (<state dir>/rootfs):
//
//	python@sha256:<hex>/       the tree, never modified once published
//	python@sha256:<hex>.json   its metadata (Image as JSON)
//	python -> python@sha256:<hex>   the current image of that name
//	.build-*, .import-*        work in progress (0700, removed on error)
//	.trash-*, .meta-*, .link-* transient (removal, metadata, name updates)
//	.apt/                      apt's binary caches (~75 MB, reused by every
//	                           build) and an empty dpkg status
//	.lock                      flock(2) held while publishing or removing
//
// Leftovers of a crash (the dot-prefixed transients) older than six hours
// are removed by Open. Image names cannot start with a dot, so nothing
// here collides with an image.
//
// Trees are published by rename(2) of a complete directory and names are
// moved by rename(2) of a fresh symlink, so a reader sees either the old or
// the new image, never half of one. Metadata is written before the name
// moves. A tree that exists without metadata (a crash between the two) is
// verified and reused by the next build or import that produces it.
//
// # What a tree may contain
//
// Every tree passes Check: regular files, directories and symlinks only; no
// setuid or setgid files; no relative symlink that climbs above the root;
// real directories for the mount points a user-namespaced jail needs
// (/proc, /dev, /sys, /tmp, /work); an interpreter found by resolving links
// inside the root. Ownership is root:root (when the store runs as root) and
// every directory is o+rx and every file that its owner can read is o+r,
// because the jail's processes reach the tree as an unprivileged host uid
// ("other" permission bits decide: the owner is not mapped into the jail's
// user namespace, so CAP_DAC_OVERRIDE inside it does not apply).
//
// The package never runs maintainer scripts, never touches the host's dpkg
// state and never modifies an import source. It does not run interpreters:
// probing an image inside a jail is the caller's job (see Prober).
package rootfs
