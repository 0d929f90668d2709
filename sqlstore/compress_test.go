package sqlstore

import (
	"bytes"
	"compress/gzip"
	"testing"
)

// TestDecompress reads zstd, and the gzip of rows written before zstd.
func TestDecompress(t *testing.T) {
	text := []byte(`{"action":"edit","new_wikitext":"` + string(bytes.Repeat([]byte("abc "), 1000)) + `"}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(text)
	zw.Close()
	for name, packed := range map[string][]byte{"zstd": compress(text), "gzip": gz.Bytes()} {
		got, err := decompress(packed)
		if err != nil || !bytes.Equal(got, text) {
			t.Errorf("%s: %v, %d bytes", name, err, len(got))
		}
	}
	if _, err := decompress([]byte("neither")); err == nil {
		t.Error("garbage decompressed")
	}
}
