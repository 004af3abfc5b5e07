package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// TestSecondSignalKills: the first Ctrl-C asks for a clean stop; a second
// one, while that stop is slow, kills the process at once rather than
// being swallowed.
func TestSecondSignalKills(t *testing.T) {
	if os.Getenv("ASSAY_SIGNAL_CHILD") == "1" {
		signalChild()
		return
	}
	if testing.Short() {
		t.Skip("starts a process; skipped with -short")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondSignalKills$")
	// TestMain's temporary cache directory is under TMPDIR: the killed
	// child cannot remove it.
	cmd.Env = append(os.Environ(), "ASSAY_SIGNAL_CHILD=1", "TMPDIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// A test run in the background may have SIGINT ignored, which the
	// child would inherit; caught here, it is the default in the child.
	caught := make(chan os.Signal, 1)
	signal.Notify(caught, os.Interrupt)
	err = cmd.Start()
	signal.Stop(caught)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case l := <-lines:
			if l != want {
				t.Fatalf("child said %q, want %q", l, want)
			}
		case <-time.After(time.Minute):
			t.Fatalf("child did not say %q", want)
		}
	}
	expect("listening")
	cmd.Process.Signal(os.Interrupt)
	expect("stopping")
	exited := make(chan error, 1)
	go func() {
		for range lines {
		}
		exited <- cmd.Wait()
	}()
	// Pressed again until it works: the first signal's handling ends a
	// moment after the context does.
	again := time.NewTicker(200 * time.Millisecond)
	defer again.Stop()
	deadline := time.After(30 * time.Second)
	for {
		cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			var ee *exec.ExitError
			ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !errors.As(err, &ee) || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
				t.Errorf("child ended with %v, want killed by SIGINT (status 130 in a shell)", err)
			}
			return
		case <-again.C:
		case <-deadline:
			t.Fatal("a second Ctrl-C did not end the process: it was swallowed")
		}
	}
}

// signalChild is a command whose clean stop never ends.
func signalChild() {
	ctx, stop := signalContext()
	defer stop()
	fmt.Println("listening")
	<-ctx.Done()
	fmt.Println("stopping")
	select {}
}
