// Package cli is Vigil's command line: the vigil binary's commands, run
// through Main so that tests drive them with their own arguments, input and
// output.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/spf13/cobra"
)

// Env is what a command may use of the outside world.
type Env struct {
	Args    []string
	Getenv  func(string) string
	Environ func() []string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	// Reexec, when Main is the process's own (vigil's main), starts the
	// process's program again in its place, with the same arguments and
	// environment: RestartSelf. `vigil serve` does once at start to take on
	// its timer_slack. Nil when Main runs inside another program (tests):
	// timer_slack is then left alone.
	Reexec func() error
}

// restartMark is set in the environment of a process that RestartSelf
// started, so that it never restarts itself twice.
const restartMark = "VIGIL_RESTARTED"

// RestartSelf replaces the process with a new run of its program (execve),
// under the same arguments and environment and restartMark; it returns
// only on failure.
func RestartSelf() error {
	if os.Getenv(restartMark) != "" {
		return errors.New("restarted once already")
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	return fmt.Errorf("restart %s: %w", exe, syscall.Exec(exe, os.Args, append(os.Environ(), restartMark+"=1")))
}

// exitError carries an exit status without a message (the command has
// already written what the user needs to see).
type exitError struct{ code int }

// version is Vigil's version, in the User-Agent of its API requests.
const version = "0.1.0"

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs the vigil command line and returns the process exit status.
func Main(ctx context.Context, env Env) int {
	root := newRoot(env)
	root.SetArgs(env.Args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	var exit exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.code
	}
	fmt.Fprintln(env.Stderr, "vigil:", err)
	return 2
}

func newRoot(env Env) *cobra.Command {
	root := &cobra.Command{
		Use:           "vigil",
		Short:         "Vigil: trust & safety for wikis",
		Long:          "Vigil screens wiki actions with AbuseFilter's rules and runs trust & safety operations.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Environ == nil {
		env.Environ = func() []string { return nil }
	}
	root.AddCommand(newRulesCmd(env), newServeCmd(env), newTokenCmd(env), newFiltersCmd(env), newLogCmd(env), newBenchCmd(env),
		newFollowCmd(env), newReplayCmd(env))
	return root
}
