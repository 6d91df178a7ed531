package daemon

import (
	"sync"

	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/rootfs"
)

// imageVerifier is implemented by stores that can recompute an image's
// digest (rootfs.Store); test fakes need not.
type imageVerifier interface {
	Verify(img rootfs.Image) error
}

// verifyImages recomputes the digest of every image found, in parallel, and
// moves those that no longer match (a file altered on disk after import) to
// missing with the reason: every result records the digest it ran on, and
// that record must be true. It costs one read of each tree at start-up
// (~0.3 s for python + node here).
func (s *Server) verifyImages(v imageVerifier) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for l, img := range s.images {
		wg.Add(1)
		go func(l jail.Language, img rootfs.Image) {
			defer wg.Done()
			if err := v.Verify(img); err != nil {
				mu.Lock()
				s.missing[l] = err
				mu.Unlock()
				s.log.Error("language unavailable: rootfs altered", "language", l, "err", err)
			}
		}(l, img)
	}
	wg.Wait()
	for l := range s.missing {
		delete(s.images, l)
	}
}
