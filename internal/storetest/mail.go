package storetest

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/refreshing/refreshing"
)

// runMail checks the mail methods of the Store: the outbox and the one-time codes.
func runMail(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("EnqueueMail", func(t *testing.T) { testEnqueueMail(t, open) })
	t.Run("ClaimMail", func(t *testing.T) { testClaimMail(t, open) })
	t.Run("FinishMail", func(t *testing.T) { testFinishMail(t, open) })
	t.Run("RetryMail", func(t *testing.T) { testRetryMail(t, open) })
	t.Run("ListMail", func(t *testing.T) { testListMail(t, open) })
	t.Run("PutCode", func(t *testing.T) { testPutCode(t, open) })
	t.Run("RedeemCode", func(t *testing.T) { testRedeemCode(t, open) })
	t.Run("DeleteCode", func(t *testing.T) { testDeleteCode(t, open) })
	t.Run("PurgeMail", func(t *testing.T) { testPurgeMail(t, open) })
}

// enqueue stores a pending mail of kind to to, due at due, and returns it.
func enqueue(t *testing.T, st refreshing.Store, to string, due time.Time) *refreshing.Mail {
	t.Helper()
	m := &refreshing.Mail{Kind: refreshing.MailResetPassword, To: to, CreatedAt: due, NextAttempt: due}
	if err := st.EnqueueMail(t.Context(), m); err != nil {
		t.Fatalf("EnqueueMail(%s): %v", to, err)
	}
	return m
}

// claim claims up to limit mails as holder at now for a minute.
func claim(t *testing.T, st refreshing.Store, holder string, now time.Time, limit int) []refreshing.Mail {
	t.Helper()
	ms, err := st.ClaimMail(t.Context(), refreshing.MailClaim{Holder: holder, Now: now, Until: now.Add(time.Minute), Limit: limit})
	if err != nil {
		t.Fatalf("ClaimMail: %v", err)
	}
	return ms
}

// ids returns the ids of ms.
func ids(ms []refreshing.Mail) []int64 {
	out := make([]int64, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

// mailByID lists every mail and returns the one with id.
func mailByID(t *testing.T, st refreshing.Store, id int64) refreshing.Mail {
	t.Helper()
	ms, err := st.ListMail(t.Context(), refreshing.MailFilter{Limit: 1000})
	if err != nil {
		t.Fatalf("ListMail: %v", err)
	}
	for _, m := range ms {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("mail %d not listed", id)
	return refreshing.Mail{}
}

func sameIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testEnqueueMail(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		a := &refreshing.Mail{Kind: refreshing.MailEmailConfirmation, To: "ada@example.com", UserID: 7,
			State: refreshing.MailSent, Attempts: 3, CreatedAt: at(0), NextAttempt: at(time.Second)}
		if err := st.EnqueueMail(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		b := enqueue(t, st, "bob@example.com", at(0))
		if a.ID == 0 || b.ID <= a.ID {
			t.Fatalf("ids %d then %d, want increasing and not 0", a.ID, b.ID)
		}
		got := mailByID(t, st, a.ID)
		want := refreshing.Mail{ID: a.ID, Kind: refreshing.MailEmailConfirmation, To: "ada@example.com", UserID: 7,
			State: refreshing.MailPending, CreatedAt: at(0), NextAttempt: at(time.Second)}
		if !sameMail(got, want) {
			t.Errorf("stored %+v, want %+v", got, want)
		}
	})
}

// sameMail compares two mails field by field, times with Equal.
func sameMail(a, b refreshing.Mail) bool {
	return a.ID == b.ID && a.Kind == b.Kind && a.To == b.To && a.UserID == b.UserID && a.State == b.State &&
		a.Attempts == b.Attempts && a.NextAttempt.Equal(b.NextAttempt) && a.LeaseHolder == b.LeaseHolder &&
		a.LeaseUntil.Equal(b.LeaseUntil) && a.LastError == b.LastError && a.CreatedAt.Equal(b.CreatedAt) &&
		a.FinishedAt.Equal(b.FinishedAt)
}

func testClaimMail(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OKDueOnlyInDueOrder", func(t *testing.T) {
		st := open(t)
		late := enqueue(t, st, "late@example.com", at(2*time.Second))
		first := enqueue(t, st, "first@example.com", at(0))
		future := enqueue(t, st, "future@example.com", at(time.Hour))
		got := claim(t, st, "a", at(2*time.Second), 10)
		if want := []int64{first.ID, late.ID}; !sameIDs(ids(got), want) {
			t.Fatalf("claimed %v, want %v (due order, not %d)", ids(got), want, future.ID)
		}
		m := got[0]
		if m.Attempts != 1 || m.LeaseHolder != "a" || !m.LeaseUntil.Equal(at(2*time.Second+time.Minute)) || m.State != refreshing.MailPending {
			t.Errorf("claimed mail %+v: want attempts 1, holder a, lease until +1m, pending", m)
		}
	})
	t.Run("OKLimit", func(t *testing.T) {
		st := open(t)
		a := enqueue(t, st, "a@example.com", at(0))
		enqueue(t, st, "b@example.com", at(time.Second))
		if got := claim(t, st, "h", at(time.Minute), 1); !sameIDs(ids(got), []int64{a.ID}) {
			t.Fatalf("claimed %v, want [%d]", ids(got), a.ID)
		}
		if got := claim(t, st, "h", at(time.Minute), 0); len(got) != 0 {
			t.Fatalf("limit 0 claimed %v", ids(got))
		}
	})
	t.Run("OKLeasedSkippedUntilLeaseEnds", func(t *testing.T) {
		st := open(t)
		m := enqueue(t, st, "a@example.com", at(0))
		if got := claim(t, st, "a", at(0), 10); len(got) != 1 {
			t.Fatalf("first claim got %v", ids(got))
		}
		if got := claim(t, st, "b", at(59*time.Second), 10); len(got) != 0 {
			t.Fatalf("claimed a leased mail: %v", ids(got))
		}
		got := claim(t, st, "b", at(time.Minute), 10)
		if !sameIDs(ids(got), []int64{m.ID}) || got[0].Attempts != 2 || got[0].LeaseHolder != "b" {
			t.Fatalf("after the lease ended: %+v, want mail %d, attempt 2, holder b", got, m.ID)
		}
	})
	t.Run("OKFinishedNotClaimed", func(t *testing.T) {
		st := open(t)
		m := enqueue(t, st, "a@example.com", at(0))
		claim(t, st, "a", at(0), 1)
		if err := st.FinishMail(t.Context(), refreshing.MailFinish{ID: m.ID, Holder: "a", State: refreshing.MailSent, At: at(time.Second)}); err != nil {
			t.Fatal(err)
		}
		if got := claim(t, st, "a", at(time.Hour), 10); len(got) != 0 {
			t.Fatalf("claimed a sent mail: %v", ids(got))
		}
	})
	t.Run("OKConcurrentClaimsDisjoint", func(t *testing.T) {
		st := open(t)
		const n = 30
		for range n {
			enqueue(t, st, "x@example.com", at(0))
		}
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for h := range 6 {
			wg.Go(func() {
				for {
					ms, err := st.ClaimMail(t.Context(), refreshing.MailClaim{Holder: string(rune('a' + h)), Now: at(0), Until: at(time.Hour), Limit: 3})
					if err != nil {
						t.Error(err)
						return
					}
					if len(ms) == 0 {
						return
					}
					mu.Lock()
					for _, m := range ms {
						seen[m.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != n {
			t.Errorf("%d mails claimed, want %d", len(seen), n)
		}
		for id, c := range seen {
			if c != 1 {
				t.Errorf("mail %d claimed %d times", id, c)
			}
		}
	})
}

func testFinishMail(t *testing.T, open func(t *testing.T) refreshing.Store) {
	claimed := func(t *testing.T) (refreshing.Store, *refreshing.Mail) {
		st := open(t)
		m := enqueue(t, st, "a@example.com", at(0))
		claim(t, st, "h", at(0), 1)
		return st, m
	}
	for _, state := range []string{refreshing.MailSent, refreshing.MailFailed, refreshing.MailDropped} {
		t.Run("OK"+state, func(t *testing.T) {
			st, m := claimed(t)
			if err := st.FinishMail(t.Context(), refreshing.MailFinish{ID: m.ID, Holder: "h", State: state, At: at(time.Second), Error: "why"}); err != nil {
				t.Fatal(err)
			}
			got := mailByID(t, st, m.ID)
			if got.State != state || !got.FinishedAt.Equal(at(time.Second)) || got.LastError != "why" || got.LeaseHolder != "" || !got.LeaseUntil.IsZero() || got.Attempts != 1 {
				t.Errorf("after finishing %s: %+v", state, got)
			}
		})
	}
	t.Run("OKRetry", func(t *testing.T) {
		st, m := claimed(t)
		if err := st.FinishMail(t.Context(), refreshing.MailFinish{ID: m.ID, Holder: "h", State: refreshing.MailPending,
			At: at(time.Second), RetryAt: at(time.Minute), Error: "421 try later"}); err != nil {
			t.Fatal(err)
		}
		got := mailByID(t, st, m.ID)
		if got.State != refreshing.MailPending || !got.NextAttempt.Equal(at(time.Minute)) || !got.FinishedAt.IsZero() ||
			got.LastError != "421 try later" || got.LeaseHolder != "" || !got.LeaseUntil.IsZero() {
			t.Errorf("after a retry: %+v", got)
		}
		if ms := claim(t, st, "other", at(59*time.Second), 10); len(ms) != 0 {
			t.Errorf("claimed before its retry time: %v", ids(ms))
		}
		if ms := claim(t, st, "other", at(time.Minute), 10); !sameIDs(ids(ms), []int64{m.ID}) {
			t.Errorf("not claimed at its retry time: %v", ids(ms))
		}
	})
	t.Run("ErrStaleOtherHolder", func(t *testing.T) {
		st, m := claimed(t)
		err := st.FinishMail(t.Context(), refreshing.MailFinish{ID: m.ID, Holder: "intruder", State: refreshing.MailSent, At: at(time.Second)})
		if !errors.Is(err, refreshing.ErrStale) {
			t.Fatalf("got %v, want ErrStale", err)
		}
		if got := mailByID(t, st, m.ID); got.State != refreshing.MailPending || got.LeaseHolder != "h" {
			t.Errorf("changed by a refused finish: %+v", got)
		}
	})
	t.Run("ErrStaleFinished", func(t *testing.T) {
		st, m := claimed(t)
		f := refreshing.MailFinish{ID: m.ID, Holder: "h", State: refreshing.MailSent, At: at(time.Second)}
		if err := st.FinishMail(t.Context(), f); err != nil {
			t.Fatal(err)
		}
		f.State = refreshing.MailFailed
		if err := st.FinishMail(t.Context(), f); !errors.Is(err, refreshing.ErrStale) {
			t.Fatalf("second finish: %v, want ErrStale", err)
		}
		if got := mailByID(t, st, m.ID); got.State != refreshing.MailSent {
			t.Errorf("state %s, want sent", got.State)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		err := st.FinishMail(t.Context(), refreshing.MailFinish{ID: 4242, Holder: "h", State: refreshing.MailSent, At: at(0)})
		if !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
}

func testRetryMail(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		m := enqueue(t, st, "a@example.com", at(0))
		claim(t, st, "h", at(0), 1)
		if err := st.FinishMail(t.Context(), refreshing.MailFinish{ID: m.ID, Holder: "h", State: refreshing.MailFailed, At: at(time.Second), Error: "550"}); err != nil {
			t.Fatal(err)
		}
		if err := st.RetryMail(t.Context(), m.ID, at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got := mailByID(t, st, m.ID)
		if got.State != refreshing.MailPending || got.Attempts != 0 || !got.NextAttempt.Equal(at(time.Hour)) || !got.FinishedAt.IsZero() {
			t.Errorf("after RetryMail: %+v", got)
		}
		if ms := claim(t, st, "h", at(time.Hour), 10); !sameIDs(ids(ms), []int64{m.ID}) {
			t.Errorf("not claimable again: %v", ids(ms))
		}
	})
	t.Run("ErrStaleNotFailed", func(t *testing.T) {
		st := open(t)
		m := enqueue(t, st, "a@example.com", at(0))
		if err := st.RetryMail(t.Context(), m.ID, at(time.Hour)); !errors.Is(err, refreshing.ErrStale) {
			t.Fatalf("got %v, want ErrStale", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if err := open(t).RetryMail(t.Context(), 99, at(0)); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
}

func testListMail(t *testing.T, open func(t *testing.T) refreshing.Store) {
	st := open(t)
	a := enqueue(t, st, "a@example.com", at(0))
	b := enqueue(t, st, "b@example.com", at(0))
	c := enqueue(t, st, "c@example.com", at(0))
	claim(t, st, "h", at(0), 1) // a
	if err := st.FinishMail(t.Context(), refreshing.MailFinish{ID: a.ID, Holder: "h", State: refreshing.MailFailed, At: at(time.Second)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    refreshing.MailFilter
		want []int64
	}{
		{"OKAllNewestFirst", refreshing.MailFilter{}, []int64{c.ID, b.ID, a.ID}},
		{"OKState", refreshing.MailFilter{State: refreshing.MailPending}, []int64{c.ID, b.ID}},
		{"OKFailed", refreshing.MailFilter{State: refreshing.MailFailed}, []int64{a.ID}},
		{"OKCursor", refreshing.MailFilter{BeforeID: c.ID}, []int64{b.ID, a.ID}},
		{"OKLimit", refreshing.MailFilter{Limit: 1}, []int64{c.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := st.ListMail(t.Context(), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if !sameIDs(ids(got), tc.want) {
				t.Errorf("listed %v, want %v", ids(got), tc.want)
			}
		})
	}
	t.Run("CountMail", func(t *testing.T) {
		counts, err := st.CountMail(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if counts[refreshing.MailPending] != 2 || counts[refreshing.MailFailed] != 1 || counts[refreshing.MailSent] != 0 {
			t.Errorf("counts %v, want 2 pending, 1 failed", counts)
		}
	})
}

// newCode returns an unsaved code of userID for purpose.
func newCode(id string, userID int64, purpose string) refreshing.AccountCode {
	return refreshing.AccountCode{ID: id, UserID: userID, Purpose: purpose, Hash: hash(id),
		CreatedAt: at(0), ExpiresAt: at(time.Hour)}
}

func testPutCode(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		c := newCode("code1", u.ID, refreshing.CodeResetPassword)
		if err := st.PutCode(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		got, err := st.Code(t.Context(), "code1")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != c.ID || got.UserID != u.ID || got.Purpose != c.Purpose || !bytes.Equal(got.Hash, c.Hash) ||
			!got.CreatedAt.Equal(c.CreatedAt) || !got.ExpiresAt.Equal(c.ExpiresAt) {
			t.Errorf("stored %+v, want %+v", got, c)
		}
	})
	t.Run("OKReplacesSamePurposeOnly", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		v := createUser(t, st, "bob")
		for _, c := range []refreshing.AccountCode{
			newCode("old", u.ID, refreshing.CodeResetPassword),
			newCode("confirm", u.ID, refreshing.CodeEmailConfirmation),
			newCode("bobs", v.ID, refreshing.CodeResetPassword),
			newCode("new", u.ID, refreshing.CodeResetPassword),
		} {
			if err := st.PutCode(t.Context(), c); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.Code(t.Context(), "old"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("replaced code: %v, want ErrNotFound", err)
		}
		for _, id := range []string{"confirm", "bobs", "new"} {
			if _, err := st.Code(t.Context(), id); err != nil {
				t.Errorf("Code(%s): %v", id, err)
			}
		}
	})
	t.Run("ErrNotFoundUser", func(t *testing.T) {
		st := open(t)
		if err := st.PutCode(t.Context(), newCode("x", 4242, refreshing.CodeResetPassword)); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		v := createUser(t, st, "bob")
		if err := st.PutCode(t.Context(), newCode("same", u.ID, refreshing.CodeResetPassword)); err != nil {
			t.Fatal(err)
		}
		if err := st.PutCode(t.Context(), newCode("same", v.ID, refreshing.CodeResetPassword)); !errors.Is(err, refreshing.ErrConflict) {
			t.Fatalf("got %v, want ErrConflict", err)
		}
	})
	t.Run("ErrNotFoundCode", func(t *testing.T) {
		if _, err := open(t).Code(t.Context(), "nope"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
	t.Run("OKGoneWithUser", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		if err := st.PutCode(t.Context(), newCode("c", u.ID, refreshing.CodeResetPassword)); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteUser(t.Context(), u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Code(t.Context(), "c"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("code of a deleted user: %v, want ErrNotFound", err)
		}
	})
}

func testRedeemCode(t *testing.T, open func(t *testing.T) refreshing.Store) {
	t.Run("OK", func(t *testing.T) {
		st := open(t)
		f := newRevocationFixture(t, st)
		if err := st.PutCode(t.Context(), newCode("c", f.user.ID, refreshing.CodeResetPassword)); err != nil {
			t.Fatal(err)
		}
		u := *f.user
		u.PasswordHash, u.UpdatedAt = "$argon2id$new", at(time.Hour)
		rev := &refreshing.Revocation{UserID: f.user.ID, Reason: refreshing.ReasonPasswordReset, At: at(time.Hour)}
		if err := st.RedeemCode(t.Context(), "c", &u, rev); err != nil {
			t.Fatal(err)
		}
		if got := getUser(t, st, u.ID); got.PasswordHash != "$argon2id$new" {
			t.Errorf("password hash %q not stored", got.PasswordHash)
		}
		if _, err := st.Code(t.Context(), "c"); !errors.Is(err, refreshing.ErrNotFound) {
			t.Errorf("redeemed code still stored: %v", err)
		}
		// Every session of the user's revoked, the other user's untouched.
		f.user.PasswordHash, f.user.UpdatedAt = u.PasswordHash, u.UpdatedAt
		f.check(t, st, refreshing.ReasonPasswordReset, at(time.Hour), f.a, f.b, f.c)
	})
	t.Run("ErrNotFoundTwice", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		if err := st.PutCode(t.Context(), newCode("c", u.ID, refreshing.CodeEmailConfirmation)); err != nil {
			t.Fatal(err)
		}
		v := *u
		v.Confirmed = true
		if err := st.RedeemCode(t.Context(), "c", &v, nil); err != nil {
			t.Fatal(err)
		}
		v.Username = "changed"
		if err := st.RedeemCode(t.Context(), "c", &v, nil); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("second redemption: %v, want ErrNotFound", err)
		}
		if got := getUser(t, st, u.ID); got.Username != "alice" {
			t.Errorf("refused redemption changed the user: %q", got.Username)
		}
	})
	t.Run("ErrNotFoundUserKeepsCode", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		if err := st.PutCode(t.Context(), newCode("c", u.ID, refreshing.CodeEmailConfirmation)); err != nil {
			t.Fatal(err)
		}
		other := *u
		other.ID = 4242
		if err := st.RedeemCode(t.Context(), "c", &other, nil); !errors.Is(err, refreshing.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
		if _, err := st.Code(t.Context(), "c"); err != nil {
			t.Errorf("code lost by a refused redemption: %v", err)
		}
	})
	t.Run("OKConcurrentOnce", func(t *testing.T) {
		st := open(t)
		u := createUser(t, st, "alice")
		if err := st.PutCode(t.Context(), newCode("c", u.ID, refreshing.CodeResetPassword)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for range 8 {
			wg.Go(func() {
				v := *u
				err := st.RedeemCode(t.Context(), "c", &v, nil)
				if err != nil && !errors.Is(err, refreshing.ErrNotFound) {
					t.Error(err)
				}
				if err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if ok != 1 {
			t.Errorf("%d redemptions succeeded, want 1", ok)
		}
	})
}

func testPurgeMail(t *testing.T, open func(t *testing.T) refreshing.Store) {
	st := open(t)
	u := createUser(t, st, "alice")
	old := enqueue(t, st, "old@example.com", at(0))
	recent := enqueue(t, st, "recent@example.com", at(0))
	pending := enqueue(t, st, "pending@example.com", at(time.Hour))
	claim(t, st, "h", at(0), 2)
	for _, f := range []refreshing.MailFinish{
		{ID: old.ID, Holder: "h", State: refreshing.MailSent, At: at(time.Minute)},
		{ID: recent.ID, Holder: "h", State: refreshing.MailFailed, At: at(3 * time.Hour)},
	} {
		if err := st.FinishMail(t.Context(), f); err != nil {
			t.Fatal(err)
		}
	}
	expired := newCode("expired", u.ID, refreshing.CodeResetPassword)
	live := newCode("live", u.ID, refreshing.CodeEmailConfirmation)
	live.ExpiresAt = at(5 * time.Hour)
	for _, c := range []refreshing.AccountCode{expired, live} {
		if err := st.PutCode(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	n, err := st.PurgeMail(t.Context(), at(2*time.Hour), 0)
	if err != nil || n != 0 {
		t.Fatalf("limit 0: %d, %v", n, err)
	}
	n, err = st.PurgeMail(t.Context(), at(2*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("deleted %d rows, want 2 (a sent mail and an expired code)", n)
	}
	ms, err := st.ListMail(t.Context(), refreshing.MailFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{pending.ID, recent.ID}; !sameIDs(ids(ms), want) {
		t.Errorf("left %v, want %v", ids(ms), want)
	}
	if _, err := st.Code(t.Context(), "expired"); !errors.Is(err, refreshing.ErrNotFound) {
		t.Errorf("expired code kept: %v", err)
	}
	if _, err := st.Code(t.Context(), "live"); err != nil {
		t.Errorf("live code purged: %v", err)
	}
}

func testDeleteCode(t *testing.T, open func(t *testing.T) refreshing.Store) {
	st := open(t)
	u := createUser(t, st, "alice")
	for _, id := range []string{"c", "other"} {
		if err := st.PutCode(t.Context(), newCode(id, u.ID, refreshing.CodeSignIn)); err != nil {
			t.Fatal(err)
		}
	}
	// PutCode kept only the newest code of the user for the purpose.
	if err := st.DeleteCode(t.Context(), "c"); !errors.Is(err, refreshing.ErrNotFound) {
		t.Fatalf("deleting a replaced code: %v, want ErrNotFound", err)
	}
	if err := st.DeleteCode(t.Context(), "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Code(t.Context(), "other"); !errors.Is(err, refreshing.ErrNotFound) {
		t.Fatalf("deleted code still stored: %v", err)
	}
	// Of concurrent deletions of one code, exactly one succeeds.
	if err := st.PutCode(t.Context(), newCode("raced", u.ID, refreshing.CodeSignIn)); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- st.DeleteCode(t.Context(), "raced") }()
	}
	ok := 0
	for range 4 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case !errors.Is(err, refreshing.ErrNotFound):
			t.Fatalf("concurrent deletion: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent deletions of one code succeeded, want 1", ok)
	}
	if err := st.DeleteCode(t.Context(), "never"); !errors.Is(err, refreshing.ErrNotFound) {
		t.Fatalf("deleting an unknown code: %v, want ErrNotFound", err)
	}
}
