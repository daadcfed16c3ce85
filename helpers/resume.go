package helpers

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/openai-uploads/uploads/generated"
)

// Resume: an upload with UploadOptions.Checkpoint records its Upload and each finished part in
// a checkpoint file (checkpoint.go), and a later call on the unchanged file continues it.

// newCheckpoint is the checkpoint of this upload as the Upload id and expiry given.
func (u *upload) newCheckpoint(uploadID string, expiresAt int64) checkpoint {
	cp := checkpoint{
		Version: checkpointVersion, UploadID: uploadID, ExpiresAt: expiresAt,
		Size: u.src.size, PartSize: u.opts.PartSize, Purpose: string(u.opts.Purpose),
		Filename: u.opts.Filename, MIMEType: u.opts.MIMEType, Parts: []checkpointPart{},
	}
	if u.src.info != nil {
		cp.ModTimeNs = u.src.info.ModTime().UnixNano()
	}
	return cp
}

// resume continues the checkpointed Upload when the checkpoint is of this file, unchanged, with
// the same settings, and its Upload has not expired. Otherwise it says why and returns false.
func (u *upload) resume(ctx context.Context) (bool, error) {
	cp, err := loadCheckpoint(u.opts.Checkpoint)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		u.notify("checkpoint %s is unreadable (%v); starting a new upload", u.opts.Checkpoint, err)
		return false, nil
	}
	want := u.newCheckpoint(cp.UploadID, cp.ExpiresAt)
	switch {
	case cp.Size != want.Size || cp.ModTimeNs != want.ModTimeNs:
		u.notify("the file changed since checkpoint %s (size or modification time); cancelling upload %s and starting a new one", u.opts.Checkpoint, cp.UploadID)
		u.cancelQuietly(ctx, cp.UploadID)
		return false, nil
	case cp.PartSize != want.PartSize || cp.Purpose != want.Purpose || cp.Filename != want.Filename || cp.MIMEType != want.MIMEType:
		u.notify("checkpoint %s was made with other settings (part size, purpose, filename or MIME type); cancelling upload %s and starting a new one", u.opts.Checkpoint, cp.UploadID)
		u.cancelQuietly(ctx, cp.UploadID)
		return false, nil
	case time.Until(time.Unix(cp.ExpiresAt, 0)) < ResumeMargin:
		u.notify("upload %s from checkpoint %s has expired (or expires within %s); starting a new upload", cp.UploadID, u.opts.Checkpoint, ResumeMargin)
		return false, nil
	}
	u.up = &generated.Upload{
		// An Upload expires an hour after its creation: that is when it was created.
		ID: cp.UploadID, CreatedAt: cp.ExpiresAt - int64(uploadTTL/time.Second), ExpiresAt: cp.ExpiresAt, Bytes: cp.Size, Filename: cp.Filename,
		Purpose: cp.Purpose, Status: generated.UploadStatusPending, Object: generated.UploadObjectUpload,
	}
	u.ckpt = &checkpointFile{path: u.opts.Checkpoint, cp: *cp}
	for _, p := range cp.Parts {
		u.ids[p.Index] = p.ID
		u.prog.partDone(u.parts[p.Index].length)
	}
	u.notify("resuming upload %s from checkpoint %s: %d of %d parts already sent", cp.UploadID, u.opts.Checkpoint, len(cp.Parts), len(u.parts))
	return true, nil
}

func (u *upload) cancelQuietly(ctx context.Context, id string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CancelTimeout)
	defer cancel()
	_, _ = u.c.CancelUpload(cctx, id)
}
