package sqlstore

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// Large values (variable dumps) are stored compressed with zstd at its
// fastest level: several times cheaper than gzip for a similar size.
var (
	zstdEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithLowerEncoderMem(true))
	zstdDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(256<<20))
)

func compress(b []byte) []byte { return zstdEncoder.EncodeAll(b, nil) }

func decompress(b []byte) ([]byte, error) {
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		// Written gzip'd by Vigil before zstd (the recent window).
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
		return io.ReadAll(io.LimitReader(zr, 256<<20))
	}
	out, err := zstdDecoder.DecodeAll(b, nil)
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	return out, nil
}
