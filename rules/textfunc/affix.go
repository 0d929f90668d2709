package textfunc

// CommonAffixes returns how many bytes a and b share at their start and,
// after those, at their end: prefix+suffix is at most the shorter length,
// so the two never overlap. The bytes are compared a block at a time
// (string equality is SIMD), then one at a time within the first block
// that differs: an edit's two 30 KB texts differ in a few lines. Used for
// the diff of an edit's middle (rules/vars) and for a text told as its
// differences from another (vigil.DeltaFrom).
func CommonAffixes(a, b string) (prefix, suffix int) {
	n := min(len(a), len(b))
	for _, step := range [...]int{1024, 64, 8, 1} {
		for prefix+step <= n && a[prefix:prefix+step] == b[prefix:prefix+step] {
			prefix += step
		}
	}
	for _, step := range [...]int{1024, 64, 8, 1} {
		for suffix+step <= n-prefix && a[len(a)-suffix-step:len(a)-suffix] == b[len(b)-suffix-step:len(b)-suffix] {
			suffix += step
		}
	}
	return prefix, suffix
}
