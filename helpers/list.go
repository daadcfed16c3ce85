package helpers

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/openai-uploads/uploads/generated"
)

// errPageCursor reports a listing that would go round in circles: the API said there were more
// files but gave no cursor, or the same cursor twice.
var errPageCursor = errors.New("the API said there are more files but gave no new cursor (last_id)")

// ListAllFiles returns every file that matches params, following the pages: it lists a page
// (GET /files), yields its files, and while has_more is true lists the next one with after set to
// the page's last_id. params may be nil; params.Limit, if set, is the page size (1..10000, the
// API's default 10000); params.After, if set, is where the listing starts. params is not
// modified.
//
// A failed request is yielded as the error, with a zero File, and ends the iteration. Pages are
// requested as the loop asks for them: breaking out of the loop sends no further request.
//
//	for f, err := range client.ListAllFiles(ctx, nil) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(f.ID, f.Filename)
//	}
func (c *Client) ListAllFiles(ctx context.Context, params *generated.ListFilesParams) iter.Seq2[generated.OpenAIFile, error] {
	return func(yield func(generated.OpenAIFile, error) bool) {
		var p generated.ListFilesParams
		if params != nil {
			p = *params
		}
		seen := map[string]bool{}
		for page := 1; ; page++ {
			resp, err := c.ListFiles(ctx, &p)
			if err != nil {
				yield(generated.OpenAIFile{}, fmt.Errorf("listing page %d of files: %w", page, err))
				return
			}
			for _, f := range resp.Data {
				if !yield(f, nil) {
					return
				}
			}
			if !resp.HasMore {
				return
			}
			if resp.LastID == nil || *resp.LastID == "" || seen[*resp.LastID] || len(resp.Data) == 0 {
				yield(generated.OpenAIFile{}, fmt.Errorf("listing page %d of files: %w", page+1, errPageCursor))
				return
			}
			seen[*resp.LastID] = true
			after := *resp.LastID
			p.After = &after
		}
	}
}
