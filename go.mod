module github.com/vigilwiki/vigil

go 1.26.0

require github.com/spf13/cobra v1.10.2

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	github.com/wasilibs/go-re2 v1.13.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)
