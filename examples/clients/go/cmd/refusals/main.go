// kgw-refusals: each early refusal of the gateway reaches Go's net/http client on a request body of several MiB
// (issue 11 §1): the status and error_code of each case in REFUSAL_CASES (written by test/helpers/refusals.ts),
// three times on one keep-alive client, then once with `Expect: 100-continue`. Prints each check; exits 1 on the
// first mismatch.
//
//	REFUSAL_CASES=/tmp/cases.json go run ./cmd/refusals
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

type refusalCase struct {
	Name       string            `json:"name"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers"`
	BodyFile   string            `json:"bodyFile"`
	BodyBytes  int               `json:"bodyBytes"`
	Status     int               `json:"status"`
	ErrorCode  int               `json:"errorCode"`
	BeforeBody bool              `json:"beforeBody"`
}

func fail(format string, args ...any) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

// post sends the whole body (its length declared) and returns the status and the answer's error_code.
func post(client *http.Client, c refusalCase, body []byte, expectContinue bool) (int, int, error) {
	req, err := http.NewRequest(http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	for k, v := range c.Headers {
		req.Header.Set(k, v)
	}
	if expectContinue {
		req.Header.Set("Expect", "100-continue")
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer res.Body.Close()
	payload, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, 0, fmt.Errorf("reading the answer: %w", err)
	}
	var answer struct {
		ErrorCode int    `json:"error_code"`
		Message   string `json:"message"`
	}
	if err := json.Unmarshal(payload, &answer); err != nil || answer.Message == "" {
		return res.StatusCode, 0, fmt.Errorf("not a Confluent error body: %q", payload)
	}
	return res.StatusCode, answer.ErrorCode, nil
}

func main() {
	raw, err := os.ReadFile(os.Getenv("REFUSAL_CASES"))
	if err != nil {
		fail("REFUSAL_CASES: %v", err)
	}
	var cases []refusalCase
	if err := json.Unmarshal(raw, &cases); err != nil || len(cases) == 0 {
		fail("REFUSAL_CASES: %v (%d cases)", err, len(cases))
	}
	client := &http.Client{
		Timeout:   60 * time.Second,
		Transport: &http.Transport{ExpectContinueTimeout: 10 * time.Second},
	}
	for _, c := range cases {
		body, err := os.ReadFile(c.BodyFile)
		if err != nil || len(body) != c.BodyBytes {
			fail("%s: body file: %v (%d bytes)", c.Name, err, len(body))
		}
		for i := range 3 {
			status, code, err := post(client, c, body, false)
			if err != nil || status != c.Status || code != c.ErrorCode {
				fail("%s (try %d): got %d %d, %v; want %d %d", c.Name, i+1, status, code, err, c.Status, c.ErrorCode)
			}
		}
		fmt.Printf("ok   %s: %d %d, 3 times (%d MiB body)\n", c.Name, c.Status, c.ErrorCode, c.BodyBytes>>20)
		status, code, err := post(client, c, body, true)
		if err != nil || status != c.Status || code != c.ErrorCode {
			fail("%s with Expect: 100-continue: got %d %d, %v; want %d %d", c.Name, status, code, err, c.Status, c.ErrorCode)
		}
		fmt.Printf("ok   %s: %d %d with Expect: 100-continue\n", c.Name, c.Status, c.ErrorCode)
	}
	fmt.Println("go client: all refusal checks passed")
}
