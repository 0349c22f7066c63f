// Package passcodebot holds the files the whole program shares: the example
// configuration, which is also the embedded default that runs with no accounts.
package passcodebot

import _ "embed"

// ExampleConfig is config.example.yaml, the configuration used when none is given.
//
//go:embed config.example.yaml
var ExampleConfig []byte
