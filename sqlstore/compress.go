package sqlstore

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Large values (variable dumps, the recent window's actions) are stored
// compressed with S2, behind a one-byte mark. S2 compresses a variable dump
// of two 40 KB wikitexts 2.3 times faster than zstd at its fastest level,
// for values 37 % larger: abuse-log writes cost 27 % less
// (BenchmarkAppendLog). Rows written earlier, with zstd or gzip, are still
// read.
const s2Mark = 0xff // neither a zstd frame (0x28 or 0x5_) nor gzip (0x1f) starts so

// maxDecoded bounds what one stored value may expand to.
const maxDecoded = 256 << 20

var (
	zstdDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxDecoded))
	s2Buffers      = sync.Pool{New: func() any { return new([]byte) }}
)

func compress(b []byte) []byte { return appendCompressed(nil, b) }

// appendCompressed appends b, compressed behind its mark, to dst, and
// returns the result in memory of its own (dst is copied). The result is
// allocated by append, which does not zero what it copies over (a fresh
// make would clear it first: 1-2 % of the service's CPU for three such
// buffers per logged action).
func appendCompressed(dst, b []byte) []byte {
	bp := s2Buffers.Get().(*[]byte)
	defer s2Buffers.Put(bp)
	if n := len(dst) + 1 + s2.MaxEncodedLen(len(b)); cap(*bp) < n {
		*bp = make([]byte, n)
	}
	buf := (*bp)[:cap(*bp)]
	copy(buf, dst)
	buf[len(dst)] = s2Mark
	n := len(s2.Encode(buf[len(dst)+1:], b))
	return append([]byte(nil), buf[:len(dst)+1+n]...)
}

func decompress(b []byte) ([]byte, error) {
	switch {
	case len(b) >= 1 && b[0] == s2Mark:
		n, err := s2.DecodedLen(b[1:])
		if err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
		if n > maxDecoded {
			return nil, fmt.Errorf("decompress: %d bytes is more than the limit", n)
		}
		out, err := s2.Decode(nil, b[1:])
		if err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
		return out, nil
	case len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b:
		// Written gzip'd by Vigil before zstd (the recent window).
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
		return io.ReadAll(io.LimitReader(zr, maxDecoded))
	}
	// Written with zstd by Vigil before S2.
	out, err := zstdDecoder.DecodeAll(b, nil)
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	return out, nil
}
