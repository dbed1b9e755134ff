package streamhub

import (
	"context"
	"sync"
)

// pageCache keeps the latest full pages of unfiltered catch-up reads, by the position they
// start after, and makes streams that want a page being read wait for that read instead of
// reading it again: two thousand streams resuming from 0 read each page once.
//
// Only full pages are kept or shared. A short page is the end of what was published when it
// was read; a stream that asked later must read again, or it could pass over events
// published in between.
type pageCache struct {
	mu    sync.Mutex
	max   int
	pages map[int64]*cachedPage
	order []int64 // the kept pages' keys, oldest first
}

type cachedPage struct {
	done   chan struct{}
	events []Event
	full   bool
}

func newPageCache(max int) *pageCache {
	return &pageCache{max: max, pages: map[int64]*cachedPage{}}
}

// get returns the page that starts after start: kept, being read, or read now with read.
// size is a full page's length.
func (c *pageCache) get(ctx context.Context, start int64, size int, read func(context.Context) ([]Event, error)) ([]Event, error) {
	for {
		c.mu.Lock()
		p, ok := c.pages[start]
		if !ok {
			break // with the lock held
		}
		c.mu.Unlock()
		select {
		case <-p.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if p.full {
			return p.events, nil
		}
		// Short or failed: read it ourselves.
	}
	p := &cachedPage{done: make(chan struct{})}
	c.pages[start] = p
	c.mu.Unlock()

	events, err := read(ctx)
	c.mu.Lock()
	if err == nil && len(events) == size {
		p.events, p.full = events, true
		c.order = append(c.order, start)
		if len(c.order) > c.max {
			delete(c.pages, c.order[0])
			c.order = c.order[1:]
		}
	} else {
		delete(c.pages, start)
	}
	c.mu.Unlock()
	close(p.done)
	return events, err
}
