// Command vigil is Vigil: screening of wiki actions with AbuseFilter's rules,
// and trust & safety operations. See the README.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/vigilwiki/vigil/internal/cli"
	"github.com/vigilwiki/vigil/internal/hugeheap"
)

func main() {
	// Huge pages for the heap: on machines where page faults are dear,
	// they were half of a fresh process's work. Failing, it changes nothing.
	hugeheap.Enable()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.Env{Args: os.Args[1:], Getenv: os.Getenv, Environ: os.Environ, Stdin: os.Stdin,
		Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
