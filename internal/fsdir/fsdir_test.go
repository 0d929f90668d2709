package fsdir

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// TestLockExcludesAnotherProcess: a child process cannot take the lock
// this one holds, and can once it is released.
func TestLockExcludesAnotherProcess(t *testing.T) {
	if dir := os.Getenv("FSDIR_TEST_CHILD"); dir != "" {
		f, err := Lock(dir)
		if err == ErrLocked {
			os.Exit(3)
		}
		if err != nil {
			os.Exit(4)
		}
		Unlock(f)
		os.Exit(0)
	}
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no advisory locks here: Lock does not exclude (documented)")
	}
	dir := t.TempDir()
	child := func() int {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestLockExcludesAnotherProcess$")
		cmd.Env = append(os.Environ(), "FSDIR_TEST_CHILD="+dir)
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	f, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if code := child(); code != 3 {
		t.Fatalf("while held: the child exited %d, want 3 (ErrLocked)", code)
	}
	Unlock(f)
	if code := child(); code != 0 {
		t.Fatalf("after Unlock: the child exited %d, want 0", code)
	}
	if err := Sync(dir); err != nil {
		t.Fatal(err)
	}
}
