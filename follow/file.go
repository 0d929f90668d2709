package follow

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
)

// FileConfig configures a JSONL file source.
type FileConfig struct {
	// Wikis are the wiki ids to keep; empty keeps all.
	Wikis []string
	// After skips the lines up to that position (an Event.Position,
	// "line:N"), to resume a replay.
	After string
	// SkipBad logs and skips a line that is not an event it can read;
	// by default it stops the replay with an error naming the line.
	SkipBad bool
	Logger  *slog.Logger
}

// File replays events recorded one JSON object a line (JSONL), as
// EventStreams sends them: recentchange events, and also revision-create,
// page-delete and page-move ones. Blank lines and canary events are
// skipped. Event.Position is "line:N".
type File struct {
	name  string
	open  func() (io.ReadCloser, error)
	cfg   FileConfig
	wikis wikiSet
	log   *slog.Logger
	after int
}

var _ Source = (*File)(nil)

// NewFile returns a source replaying the file at path; it is opened by
// Run.
func NewFile(path string, cfg FileConfig) (*File, error) {
	return newFile(path, func() (io.ReadCloser, error) { return os.Open(path) }, cfg)
}

// NewReader returns a source replaying r (named name in errors), e.g.
// standard input. It can run once.
func NewReader(name string, r io.Reader, cfg FileConfig) (*File, error) {
	return newFile(name, func() (io.ReadCloser, error) { return io.NopCloser(r), nil }, cfg)
}

func newFile(name string, open func() (io.ReadCloser, error), cfg FileConfig) (*File, error) {
	f := &File{name: name, open: open, cfg: cfg, wikis: newWikiSet(cfg.Wikis), log: cfg.Logger}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if cfg.After != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(cfg.After, "line:"))
		if err != nil || n < 0 || !strings.HasPrefix(cfg.After, "line:") {
			return nil, fmt.Errorf("replay %s: position %q is not line:N", name, cfg.After)
		}
		f.after = n
	}
	return f, nil
}

// Run replays the file to its end (it returns nil) unless ctx is done,
// the handler fails (its error is returned as is) or a line is bad (an
// error naming the file and line, unless SkipBad).
func (f *File) Run(ctx context.Context, h Handler) error {
	rc, err := f.open()
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer rc.Close()
	r := bufio.NewReaderSize(rc, 64<<10)
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, err := readJSONLine(r, maxEventBytes)
		if errors.Is(err, io.EOF) && line == nil {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, errLineTooLong) && f.cfg.SkipBad {
				f.log.Warn("replay: skipped a line", "file", f.name, "line", n, "err", err)
				continue
			}
			return fmt.Errorf("%s:%d: %w", f.name, n, err)
		}
		if n <= f.after || len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		ev, err := DecodeEvent(line)
		switch {
		case errors.Is(err, ErrCanary):
			continue
		case err != nil && f.cfg.SkipBad:
			f.log.Warn("replay: skipped a line", "file", f.name, "line", n, "err", err)
			continue
		case err != nil:
			return fmt.Errorf("%s:%d: %w", f.name, n, err)
		case !f.wikis.keep(ev.Wiki):
			continue
		}
		ev.Source, ev.Position = SourceFile, "line:"+strconv.Itoa(n)
		if err := h(ctx, ev); err != nil {
			return err
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readJSONLine reads one line of at most max bytes, without its end. A
// longer line is consumed and reported as errLineTooLong. At the end of
// the input it returns the last line (if any) with io.EOF.
func readJSONLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	tooLong := false
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > max+2 { // room for "\r\n"
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case tooLong && (err == nil || errors.Is(err, io.EOF)):
			return nil, fmt.Errorf("%w: more than %d bytes", errLineTooLong, max)
		case err != nil && !errors.Is(err, io.EOF):
			return nil, err
		case errors.Is(err, io.EOF) && len(line) == 0:
			return nil, io.EOF
		}
		return bytes.TrimRight(line, "\r\n"), err
	}
}
