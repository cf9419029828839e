// Package readmegen is where readme_test builds the README's otelstore
// code, through an overlay that replaces readme_gen.go.
package readmegen
