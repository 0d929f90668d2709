package screen

import (
	"context"
	"net/netip"
	"time"

	"github.com/vigilwiki/vigil"
)

// blockList is a wiki's blocks in force, indexed for the check that runs
// before filters: by user name or address, and by range.
type blockList struct {
	loaded time.Time
	exact  map[string]*vigil.Block
	ranges []rangeBlock
}

type rangeBlock struct {
	prefix netip.Prefix
	block  *vigil.Block
}

// blockedBy returns the block in force on the performer, or, for a
// logged-out or temporary user, on the address the action comes from; or
// nil. When the blocks cannot be read
// the action is screened as if none applied.
func (e *Engine) blockedBy(ctx context.Context, a *vigil.Action) *vigil.Block {
	bl := e.blockListFor(ctx, a.Wiki)
	if bl == nil {
		return nil
	}
	now := a.Time
	check := func(b *vigil.Block) *vigil.Block {
		if b != nil && b.Active(now) {
			return b
		}
		return nil
	}
	if b := check(bl.exact[a.Performer.Name]); b != nil {
		return b
	}
	// Blocks of addresses and ranges are soft, as AbuseFilter places them
	// (isHardBlock false): they stop logged-out and temporary users, not
	// a named account editing from the same address.
	if a.Performer.Type == "named" || a.Performer.Type == "" && a.Performer.ID != 0 {
		return nil
	}
	ip := requestIP(a)
	if ip == "" {
		return nil
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return nil
	}
	addr = addr.Unmap()
	if b := check(bl.exact[addr.String()]); b != nil {
		return b
	}
	for _, r := range bl.ranges {
		if r.prefix.Contains(addr) {
			if b := check(r.block); b != nil {
				return b
			}
		}
	}
	return nil
}

func (e *Engine) blockListFor(ctx context.Context, wiki string) *blockList {
	e.mu.RLock()
	bl := e.blocks[wiki]
	e.mu.RUnlock()
	if bl != nil {
		return bl
	}
	blocks, err := e.store.ActiveBlocks(ctx, wiki, e.now())
	if err != nil {
		e.log.Warn("could not read blocks; screening without them", "wiki", wiki, "err", err)
		return nil
	}
	bl = &blockList{loaded: e.now(), exact: map[string]*vigil.Block{}}
	for _, b := range blocks {
		if p, err := netip.ParsePrefix(b.Target); err == nil {
			bl.ranges = append(bl.ranges, rangeBlock{prefix: p.Masked(), block: b})
			continue
		}
		if addr, err := netip.ParseAddr(b.Target); err == nil {
			bl.exact[addr.Unmap().String()] = b
			continue
		}
		bl.exact[b.Target] = b
	}
	e.mu.Lock()
	e.blocks[wiki] = bl
	e.mu.Unlock()
	return bl
}
