package conformance

import (
	"errors"
	"slices"
	"testing"

	"github.com/openai-uploads/uploads/generated"
)

// recordingTx is a journal transaction that records what an expiry writes.
type recordingTx struct {
	noTx
	putErr       error
	put          []generated.UploadStatus
	partsDeleted []string
}

func (r *recordingTx) putUpload(u *upload) error {
	r.put = append(r.put, u.Status)
	return r.putErr
}

func (r *recordingTx) deleteParts(id string) error {
	r.partsDeleted = append(r.partsDeleted, id)
	return nil
}

// TestPutExpiredDropsThePartRecords: an expired Upload is written as expired and its part
// records are deleted from the journal (they would otherwise stay in state.db until the next
// start); when the Upload cannot be written, its error is returned and nothing is deleted.
func TestPutExpiredDropsThePartRecords(t *testing.T) {
	u := &upload{Upload: generated.Upload{ID: "upload_x", Status: generated.UploadStatusPending, ExpiresAt: 1_700_003_600}}
	tx := &recordingTx{}
	if err := u.putExpired(tx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tx.put, []generated.UploadStatus{generated.UploadStatusExpired}) || !slices.Equal(tx.partsDeleted, []string{"upload_x"}) {
		t.Errorf("wrote %v and deleted the parts of %v; want the Upload written expired and its parts deleted", tx.put, tx.partsDeleted)
	}
	if u.Status != generated.UploadStatusPending {
		t.Errorf("putExpired changed the Upload itself to %s; only its record is written", u.Status)
	}

	broken := errors.New("disk full")
	tx = &recordingTx{putErr: broken}
	if err := u.putExpired(tx); !errors.Is(err, broken) || len(tx.partsDeleted) != 0 {
		t.Errorf("with the write failing: %v, parts of %v deleted; want the write's error and nothing deleted", err, tx.partsDeleted)
	}
}
