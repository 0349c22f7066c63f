package oidc_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium for the test, or skips the test when it is
// not installed (unless PASSCODEBOT_REQUIRE_CHROMIUM=1, as in CI).
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("PASSCODEBOT_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("PASSCODEBOT_REQUIRE_CHROMIUM=1 and %s is missing (apt-get install -y chromium): %v", chromiumPath, err)
		}
		t.Skipf("%s is missing (apt-get install -y chromium); set PASSCODEBOT_REQUIRE_CHROMIUM=1 to fail instead", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		// Keep Chromium off the network: only our loopback servers.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	// Start the browser with a context without a timeout (a timeout would stop it).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// within runs f with a deadline on a browser context that has started.
func within(t *testing.T, ctx context.Context, d time.Duration, f func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := f(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitPath waits until the tab shows a page at path, fully loaded.
func waitPath(ctx context.Context, path string) (string, error) {
	for {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil && strings.Contains(loc, path) {
			state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState`))
			if err == nil && state == "complete" {
				return loc, nil
			}
		}
		select {
		case <-ctx.Done():
			return loc, fmt.Errorf("waiting for %s: at %q: %w", path, loc, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func text(ctx context.Context, css string) (string, error) {
	return chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
}

// screenshot keeps a picture of the page when PASSCODEBOT_SCREENSHOTS names a directory.
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("PASSCODEBOT_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	_ = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
}

func TestBrowserSignIn(t *testing.T) {
	ctx := browser(t)

	t.Run("fresh", func(t *testing.T) {
		h := newHarness(t)
		link := h.requestLink("en")
		h.idp.QueueUser(h.alice())
		within(t, ctx, 30*time.Second, func(ctx context.Context) error {
			// Opening the link is the only action: the landing page goes on
			// to the provider by itself, and the provider signs the person in.
			if err := chromedp.Do(ctx, chromedp.Navigate(link)); err != nil {
				return err
			}
			if _, err := waitPath(ctx, "/oidc/callback"); err != nil {
				return err
			}
			screenshot(t, ctx, "success")
			if got, err := text(ctx, "h1"); err != nil || got != h.cat.T("en", "page_success_title") {
				return fmt.Errorf("result title %q (%v), want the success page", got, err)
			}
			if got, _ := text(ctx, "#body"); got != h.cat.T("en", "page_success") {
				return fmt.Errorf("result body %q", got)
			}
			return nil
		})
		if n := h.warnings(); n != 1 {
			t.Errorf("chat got %d warnings, want 1; last: %q", n, h.lastChat())
		}
		if n := len(h.authRequests()); n != 1 {
			t.Errorf("%d authorization requests, want 1", n)
		}
	})

	t.Run("expired while signing in", func(t *testing.T) {
		h := newHarness(t)
		link := h.requestLink("en")
		h.idp.QueueUser(h.alice())
		// The person takes more than 5 minutes at the provider.
		h.mu.Lock()
		h.onAuthorize = func() { h.clk.Advance(5*time.Minute + time.Second) }
		h.mu.Unlock()
		within(t, ctx, 30*time.Second, func(ctx context.Context) error {
			if err := chromedp.Do(ctx, chromedp.Navigate(link)); err != nil {
				return err
			}
			if _, err := waitPath(ctx, "/oidc/callback"); err != nil {
				return err
			}
			screenshot(t, ctx, "expired")
			if got, err := text(ctx, "h1"); err != nil || got != h.cat.T("en", "page_expired_title") {
				return fmt.Errorf("result title %q (%v), want the expired page", got, err)
			}
			return nil
		})
		if n := h.warnings(); n != 0 {
			t.Errorf("chat got %d warnings, want 0", n)
		}
		if n := len(h.tokenRequests()); n != 0 {
			t.Errorf("%d token requests, want 0", n)
		}
	})

	t.Run("expired before continue", func(t *testing.T) {
		h := newHarness(t)
		link := h.requestLink("ja")
		// A browser that runs no script (a tab of its own) stays on the
		// landing page, whose button does what the script would.
		tab, closeTab := chromedp.NewContext(ctx)
		defer closeTab()
		within(t, tab, 30*time.Second, func(ctx context.Context) error {
			if _, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (cdp.Empty, error) {
				return cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			}); err != nil {
				return err
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#continue"))); err != nil {
				return err
			}
			if got, err := text(ctx, "h1"); err != nil || got != h.cat.T("ja", "page_title") {
				return fmt.Errorf("landing title %q (%v), want Japanese", got, err)
			}
			h.clk.Advance(5*time.Minute + time.Second)
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#continue"))); err != nil {
				return err
			}
			// The press posts to the link itself and is answered there: wait
			// until the landing page (its button) is gone.
			waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := chromedp.Do(waitCtx, chromedp.WaitNotPresent(chromedp.CSS("#continue")))
			cancel()
			// The engine keeps an expired window until the cache frees it,
			// so the page says "expired", in the conversation's language.
			if got, _ := text(ctx, "h1"); err != nil || got != h.cat.T("ja", "page_expired_title") {
				return fmt.Errorf("after continue on an expired link the page says %q (%v)", got, err)
			}
			screenshot(t, ctx, "expired-ja")
			return nil
		})
		if n := len(h.authRequests()); n != 0 {
			t.Errorf("%d authorization requests for an expired link, want 0", n)
		}
		if n := h.warnings(); n != 0 {
			t.Errorf("chat got %d warnings, want 0", n)
		}
	})
}
