package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// proxy is a JSON-RPC over HTTP endpoint on 127.0.0.1 in front of the
// devnet's, which counts what passes: HTTP requests, JSON-RPC calls by
// method (each element of a batch) and response bytes as the node sent
// them. Two proxies in front of the same node are two endpoints of the
// same chain to the sentry, each counted.
type proxy struct {
	target string
	url    string
	srv    *http.Server
	client *http.Client

	mu sync.Mutex
	n  traffic
}

// traffic is what passed a proxy since its last take.
type traffic struct {
	Requests int
	Calls    map[string]int
	Bytes    int64
}

func newProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{target: target, url: "http://" + ln.Addr().String(), client: &http.Client{Transport: &http.Transport{DisableCompression: true}},
		n: traffic{Calls: map[string]int{}}}
	p.srv = &http.Server{Handler: p}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *proxy) Close() error { return p.srv.Close() }

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	methods := rpcMethods(body)
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := p.client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	n, _ := io.Copy(w, resp.Body)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n.Requests++
	p.n.Bytes += n
	for _, m := range methods {
		p.n.Calls[m]++
	}
}

// rpcMethods is the method of a JSON-RPC request, or of each call of a
// batch.
func rpcMethods(body []byte) []string {
	type call struct {
		Method string `json:"method"`
	}
	var batch []call
	if err := json.Unmarshal(body, &batch); err != nil {
		var one call
		if json.Unmarshal(body, &one) != nil {
			return []string{"(unparsed)"}
		}
		batch = []call{one}
	}
	out := make([]string, len(batch))
	for i, c := range batch {
		out[i] = c.Method
	}
	return out
}

// take returns what passed since the last take and starts counting anew.
func (p *proxy) take() traffic {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.n
	p.n = traffic{Calls: map[string]int{}}
	return t
}

// add sums traffic of several proxies.
func (t traffic) add(o traffic) traffic {
	s := traffic{Requests: t.Requests + o.Requests, Bytes: t.Bytes + o.Bytes, Calls: map[string]int{}}
	for _, c := range []map[string]int{t.Calls, o.Calls} {
		for m, n := range c {
			s.Calls[m] += n
		}
	}
	return s
}

// String is "R requests, C calls (method n, …), B MB".
func (t traffic) String() string {
	ms := make([]string, 0, len(t.Calls))
	total := 0
	for m, n := range t.Calls {
		ms = append(ms, fmt.Sprintf("%s %d", m, n))
		total += n
	}
	sort.Strings(ms)
	return fmt.Sprintf("%d requests, %d calls (%s), %.1f MB", t.Requests, total, strings.Join(ms, ", "), float64(t.Bytes)/1e6)
}
