package sqlstore

import (
	"fmt"

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
	out, err := zstdDecoder.DecodeAll(b, nil)
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	return out, nil
}
