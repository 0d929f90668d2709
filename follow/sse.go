package follow

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Limits of the Server-Sent Events parser: one line, and one event's data.
const (
	defaultMaxSSELine = 1 << 20
	defaultMaxSSEData = maxEventBytes
)

// errSSETooLarge is returned (wrapped) for an event with a line or data
// beyond the parser's limits; the parser skips it and stays usable.
var errSSETooLarge = errors.New("server-sent event too large")

// sseMessage is one dispatched server-sent event.
type sseMessage struct {
	Event string // the event type, "message" unless the stream set one
	Data  string
	// ID is the stream's last event ID once this event is dispatched:
	// what a reconnection sends as Last-Event-ID.
	ID string
}

// sseScanner parses a text/event-stream as the WHATWG HTML standard
// ("Server-sent events", "Interpreting an event stream") says: lines end
// with CRLF, LF or CR; "field: value" with one optional space; ':' starts
// a comment; a blank line dispatches the event; data lines join with LF;
// an id containing NUL is ignored; the last event ID persists across
// events; an event cut by the end of the stream is discarded. Memory is
// bounded by maxLine and maxData.
type sseScanner struct {
	r       *bufio.Reader
	maxLine int
	maxData int

	lastID string        // committed at dispatch
	retry  time.Duration // the last valid "retry" field, 0 if none

	line     []byte
	skipLF   bool // the previous line ended with CR: drop one LF
	bomDone  bool
	partial  bool // a line was begun but not ended
	inEvent  bool // fields were seen since the last dispatch
	tooLarge bool // this event had a line or data beyond the limits
	idBuf    string
	event    string
	data     []byte
}

func newSSEScanner(r io.Reader, lastID string, maxLine, maxData int) *sseScanner {
	if maxLine <= 0 {
		maxLine = defaultMaxSSELine
	}
	if maxData <= 0 {
		maxData = defaultMaxSSEData
	}
	return &sseScanner{r: bufio.NewReaderSize(r, 64<<10), maxLine: maxLine, maxData: maxData,
		lastID: lastID, idBuf: lastID}
}

// LastID is the last event ID of the events dispatched so far.
func (s *sseScanner) LastID() string { return s.lastID }

// Next returns the next event with data. At the end of the stream it
// returns io.EOF, or io.ErrUnexpectedEOF when the stream ended inside an
// event (which is discarded); an event beyond the limits gives an error
// wrapping errSSETooLarge, after which Next may be called again.
func (s *sseScanner) Next() (sseMessage, error) {
	for {
		line, tooLong, err := s.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if s.inEvent || s.partial {
					s.resetEvent()
					return sseMessage{}, io.ErrUnexpectedEOF
				}
				return sseMessage{}, io.EOF
			}
			return sseMessage{}, err
		}
		if tooLong {
			s.inEvent, s.tooLarge = true, true
			continue
		}
		if len(line) == 0 {
			if msg, ok, err := s.dispatch(); ok || err != nil {
				return msg, err
			}
			continue
		}
		s.inEvent = true
		s.field(line)
	}
}

func (s *sseScanner) field(line []byte) {
	if line[0] == ':' {
		return // a comment, e.g. ":ok"
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "event":
		s.event = string(value)
	case "data":
		if len(s.data)+len(value)+1 > s.maxData {
			s.tooLarge = true
			return
		}
		s.data = append(s.data, value...)
		s.data = append(s.data, '\n')
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			s.idBuf = string(value)
		}
	case "retry":
		if len(value) > 0 && len(value) <= 9 && isDigits(value) {
			ms, _ := strconv.Atoi(string(value))
			s.retry = time.Duration(ms) * time.Millisecond
		}
	}
}

// dispatch ends an event at a blank line; ok is false for an event
// without data, which only updates the last event ID.
func (s *sseScanner) dispatch() (msg sseMessage, ok bool, err error) {
	s.lastID = s.idBuf
	defer s.resetEvent()
	if s.tooLarge {
		return sseMessage{}, false, fmt.Errorf("%w (limits: line %d bytes, data %d bytes; last event id %q)",
			errSSETooLarge, s.maxLine, s.maxData, s.lastID)
	}
	if len(s.data) == 0 {
		return sseMessage{}, false, nil
	}
	msg = sseMessage{Event: s.event, Data: string(s.data[:len(s.data)-1]), ID: s.lastID}
	if msg.Event == "" {
		msg.Event = "message"
	}
	return msg, true, nil
}

func (s *sseScanner) resetEvent() {
	s.inEvent, s.tooLarge, s.event = false, false, ""
	s.data = s.data[:0]
	if cap(s.data) > 64<<10 {
		s.data = nil // do not keep a large buffer for the life of the stream
	}
}

// readLine returns the next line without its end. A line longer than
// maxLine is consumed and reported as tooLong, without being kept.
func (s *sseScanner) readLine() (line []byte, tooLong bool, err error) {
	s.line = s.line[:0]
	if cap(s.line) > 64<<10 {
		s.line = nil
	}
	for {
		if s.r.Buffered() == 0 {
			if _, err := s.r.Peek(1); err != nil {
				return nil, false, err
			}
		}
		buf, _ := s.r.Peek(s.r.Buffered())
		if s.skipLF {
			s.skipLF = false
			if buf[0] == '\n' {
				s.r.Discard(1)
				continue
			}
		}
		if !s.bomDone {
			if len(buf) < 3 && bytes.HasPrefix([]byte("\xef\xbb\xbf"), buf) {
				if _, err := s.r.Peek(3); err == nil {
					continue // read until the BOM can be checked
				}
			}
			s.bomDone = true
			if bytes.HasPrefix(buf, []byte("\xef\xbb\xbf")) {
				s.r.Discard(3)
				continue
			}
		}
		i := bytes.IndexAny(buf, "\r\n")
		chunk := buf
		if i >= 0 {
			chunk = buf[:i]
		}
		if len(s.line)+len(chunk) > s.maxLine {
			tooLong = true
		} else if !tooLong {
			s.line = append(s.line, chunk...)
		}
		if i < 0 {
			s.partial = true
			s.r.Discard(len(buf))
			continue
		}
		s.partial = false
		s.skipLF = buf[i] == '\r'
		s.r.Discard(i + 1)
		if tooLong {
			return nil, true, nil
		}
		return s.line, false, nil
	}
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
