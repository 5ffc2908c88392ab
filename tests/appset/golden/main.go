// Command golden renders the Go-template cases of cases.json with Go's own text/template and
// prints, as JSON, each case's output or whether it failed. Tidegate's engine is checked against
// this output (golden.json). Standard library only: run it offline with
//
//	GOTOOLCHAIN=local GOFLAGS=-mod=mod go run . < cases.json > golden.json
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/template"
)

type testCase struct {
	Name     string          `json:"name"`
	Template string          `json:"template"`
	Data     json.RawMessage `json:"data"`
	Options  []string        `json:"options"`
}

type result struct {
	Output string `json:"output"`
	Error  bool   `json:"error"`
}

func render(c testCase) (string, error) {
	var data interface{}
	if len(c.Data) > 0 {
		// As Argo CD decodes generator parameters: JSON numbers become float64.
		if err := json.Unmarshal(c.Data, &data); err != nil {
			return "", fmt.Errorf("case %s: bad data: %w", c.Name, err)
		}
	}
	tmpl, err := template.New(c.Name).Option(c.Options...).Parse(c.Template)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	if err := tmpl.Execute(&out, data); err != nil {
		return "", err
	}
	return out.String(), nil
}

func main() {
	var cases []testCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		fmt.Fprintln(os.Stderr, "reading cases:", err)
		os.Exit(2)
	}
	results := map[string]result{}
	for _, c := range cases {
		if _, seen := results[c.Name]; seen {
			fmt.Fprintln(os.Stderr, "duplicate case name:", c.Name)
			os.Exit(2)
		}
		output, err := render(c)
		if err != nil {
			results[c.Name] = result{Error: true}
		} else {
			results[c.Name] = result{Output: output}
		}
	}
	names := make([]string, 0, len(results))
	for name := range results {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("{\n")
	for i, name := range names {
		key, _ := json.Marshal(name)
		value, _ := json.Marshal(results[name])
		b.WriteString("  " + string(key) + ": " + string(value))
		if i < len(names)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	os.Stdout.WriteString(b.String())
}
