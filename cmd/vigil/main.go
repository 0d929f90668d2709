// Command vigil is Vigil: screening of wiki actions with AbuseFilter's rules,
// and trust & safety operations. See the README.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/vigilwiki/vigil/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.Env{Args: os.Args[1:], Getenv: os.Getenv, Environ: os.Environ, Stdin: os.Stdin,
		Stdout: os.Stdout, Stderr: os.Stderr, Reexec: cli.RestartSelf})
	stop()
	os.Exit(code)
}
