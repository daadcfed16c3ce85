//go:build tools

// This file pins the code generator's version in go.mod; gen.go runs it with `go run`.
package uploads

import _ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
