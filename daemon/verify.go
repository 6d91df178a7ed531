package daemon

import (
	"log/slog"
	"sync"

	"github.com/jaild/jaild/rootfs"
)

// imageVerifier is implemented by stores that can recompute an image's
// digest (rootfs.Store); test fakes need not.
type imageVerifier interface {
	Verify(img rootfs.Image) error
}

// verifiedImages looks images up and recomputes each one's digest once per
// pass (start-up, a reload), so an image altered on disk after import is
// refused with the reason, per run and on /healthz: every result records
// the digest it ran on, and that record must be true. Verifying reads the
// whole tree (~0.3 s for python + node here), so a pass verifies each
// reference once however many profiles share it.
type verifiedImages struct {
	src Images
	log *slog.Logger

	mu   sync.Mutex
	seen map[string]error // by image reference, this pass
}

func newVerifiedImages(src Images, log *slog.Logger) *verifiedImages {
	return &verifiedImages{src: src, log: log, seen: map[string]error{}}
}

// newPass forgets earlier verdicts: a reload checks the trees again.
func (vi *verifiedImages) newPass() {
	vi.mu.Lock()
	defer vi.mu.Unlock()
	vi.seen = map[string]error{}
}

// Lookup resolves ref and, when the store can, checks the image's digest.
func (vi *verifiedImages) Lookup(ref string) (rootfs.Image, error) {
	img, err := vi.src.Lookup(ref)
	v, ok := vi.src.(imageVerifier)
	if err != nil || !ok {
		return img, err
	}
	vi.mu.Lock()
	defer vi.mu.Unlock()
	verr, done := vi.seen[img.Ref()]
	if !done {
		verr = v.Verify(img)
		vi.seen[img.Ref()] = verr
		if verr != nil {
			vi.log.Error("rootfs altered: refusing it", "rootfs", img.Ref(), "err", verr)
		}
	}
	if verr != nil {
		return rootfs.Image{}, verr
	}
	return img, nil
}
