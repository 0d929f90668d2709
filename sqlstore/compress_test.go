package sqlstore

import (
	"bytes"
	"compress/gzip"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestDecompress reads S2, and the zstd and gzip of rows written before.
func TestDecompress(t *testing.T) {
	text := []byte(`{"action":"edit","new_wikitext":"` + string(bytes.Repeat([]byte("abc "), 1000)) + `"}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(text)
	zw.Close()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		t.Fatal(err)
	}
	packed := compress(text)
	if len(packed) >= len(text)/4 || packed[0] != s2Mark {
		t.Fatalf("compress: %d bytes for %d, first byte %#x", len(packed), len(text), packed[0])
	}
	for name, packed := range map[string][]byte{"s2": packed, "zstd": enc.EncodeAll(text, nil), "gzip": gz.Bytes(),
		"empty": compress(nil), "small": compress([]byte("{}"))} {
		want := text
		switch name {
		case "empty":
			want = nil
		case "small":
			want = []byte("{}")
		}
		got, err := decompress(packed)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %v, %d bytes", name, err, len(got))
		}
	}
	for _, garbage := range [][]byte{[]byte("neither"), {s2Mark}, {s2Mark, 0xff, 0xff, 0xff, 0xff, 0x7f}} {
		if _, err := decompress(garbage); err == nil {
			t.Errorf("garbage %q decompressed", garbage)
		}
	}
}
