package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

// TestReloadConfigUnderPolicy: the profiles' inherited limits follow a
// config reload, and a config whose max_limits a profile of the policy in
// force exceeds is refused like it would be at start.
func TestReloadConfigUnderPolicy(t *testing.T) {
	ts := startServerPolicy(t, analyzerRunner(nil), nil, uidPolicy(""))
	cur := *ts.srv.config()
	digest := ts.srv.Policy().Digest

	low := cur
	low.DefaultLimits.WallMS, low.MaxLimits.WallMS = 2000, 2000 // profile python sets max wall 3000
	err := ts.srv.Reload(low)
	if err == nil || !strings.Contains(err.Error(), "profile python: max_limits.wall_ms 3000 exceeds") {
		t.Errorf("reload below a profile's maximum = %v, want refused naming the profile", err)
	}
	if got := ts.srv.config().MaxLimits.WallMS; got != cur.MaxLimits.WallMS {
		t.Errorf("refused reload left max wall %d, want %d", got, cur.MaxLimits.WallMS)
	}

	next := cur
	next.DefaultLimits.WallMS, next.MaxLimits.WallMS = 8000, 20000
	if err := ts.srv.Reload(next); err != nil {
		t.Fatal(err)
	}
	if ts.srv.Policy().Digest != digest {
		t.Error("a config reload changed the policy digest")
	}
	// Profile checked sets no limits: it inherits the new config's.
	if res := ts.run(t, api.RunRequest{Profile: "checked", Code: "print(1)"}); res.Limits.WallMS != 8000 {
		t.Errorf("profile checked default wall %d after reload, want the new config's 8000", res.Limits.WallMS)
	}
	if status, body, _ := ts.do(t, "POST", api.PathRuns, `{"profile":"checked","code":"1","limits":{"wall_ms":15000}}`); status != 200 {
		t.Errorf("wall 15000 under the raised inherited maximum: %d %s, want 200", status, body)
	}
	// Profile python keeps its own maximum.
	if status, _, _ := ts.do(t, "POST", api.PathRuns, `{"language":"python","code":"1","limits":{"wall_ms":4000}}`); status != 400 {
		t.Errorf("wall 4000 over profile python's own maximum 3000: %d, want 400", status)
	}
}

// TestAdmissionRejectionMetrics: policy refusals are counted by their API
// error code.
func TestAdmissionRejectionMetrics(t *testing.T) {
	block := make(chan struct{})
	ts := startServerPolicy(t, analyzerRunner(block), nil, uidPolicy(""))
	if status, _, _ := ts.do(t, "POST", api.PathRuns, `{"language":"node","code":"1"}`); status != 403 {
		t.Fatalf("ungranted profile = %d, want 403", status)
	}
	if status, _, _ := ts.do(t, "POST", api.PathRuns, `{"profile":"checked","code":"eval('1')"}`); status != 422 {
		t.Fatalf("enforced finding = %d, want 422", status)
	}
	first := ts.postAsync(`{"language":"python","code":"1"}`)
	deadline := time.Now().Add(5 * time.Second)
	for ts.runner.count() < 2 && time.Now().Before(deadline) { // the analyzer of "checked", then this run
		time.Sleep(5 * time.Millisecond)
	}
	if status, _, _ := ts.do(t, "POST", api.PathRuns, `{"language":"python","code":"2"}`); status != 429 {
		t.Fatalf("second run in flight = %d, want 429", status)
	}
	close(block)
	<-first
	fams := scrape(t, ts)
	for reason, want := range map[string]float64{api.CodePolicyDenied: 1, api.CodeValidationFailed: 1,
		api.CodeQuotaExceeded: 1, "queue_full": 0} {
		labels := map[string]string{"reason": reason}
		if got := sample(t, fams, "jaild_admission_rejections_total", labels).GetCounter().GetValue(); got != want {
			t.Errorf("jaild_admission_rejections_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}
}
