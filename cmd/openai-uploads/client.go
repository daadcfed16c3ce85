package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/openai-uploads/uploads/helpers"
)

// client builds the API client from the global flags (and their environment variables).
func (a *app) client(cmd *cli.Command) (*helpers.Client, error) {
	if strings.TrimSpace(cmd.String(flagAPIKey)) == "" {
		return nil, usagef("no API key: pass --%s or set %s", flagAPIKey, helpers.EnvAPIKey)
	}
	// A query or fragment would be lost when the paths are joined: the requests would go to the
	// host's root (http://host/files), not under the base path. Said without the query, which
	// may hold a secret.
	if u, err := url.Parse(cmd.String(flagBaseURL)); err == nil && (u.RawQuery != "" || u.ForceQuery || u.Fragment != "") {
		return nil, usagef("--%s (or %s): %s has a query or fragment (?… or #…); give the API's base URL alone, for example %s",
			flagBaseURL, helpers.EnvBaseURL, (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).Redacted(), helpers.DefaultBaseURL)
	}
	opts := helpers.ClientOptions{
		APIKey:       cmd.String(flagAPIKey),
		BaseURL:      cmd.String(flagBaseURL),
		Organization: cmd.String(flagOrganization),
		Project:      cmd.String(flagProject),
		HTTPClient:   a.httpClient,
	}
	if cmd.Bool(flagDebug) {
		opts.Debug = a.stderr
	}
	c, err := helpers.NewClient(opts)
	if err != nil {
		return nil, failure(err)
	}
	return c, nil
}

// print writes an API object to stdout as JSON: one line, or indented with --format pretty.
func (a *app) print(cmd *cli.Command, v any) error {
	var out []byte
	var err error
	if cmd.String(flagFormat) == "pretty" {
		out, err = json.MarshalIndent(v, "", "  ")
	} else {
		out, err = json.Marshal(v)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(a.stdout, string(out))
	return err
}
