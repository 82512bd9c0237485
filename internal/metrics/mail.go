package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/refreshing/refreshing"
)

var _ refreshing.MailObserver = (*Metrics)(nil)

// mailMetrics are the outbox's metrics: every attempt's outcome by kind of
// mail, and the outbox's size by state as the sender last counted it.
type mailMetrics struct {
	attempts *prometheus.CounterVec
	queue    *prometheus.GaugeVec
}

// newMailMetrics registers the mail metrics on reg, every series at zero.
func newMailMetrics(reg *prometheus.Registry) *mailMetrics {
	m := &mailMetrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "refreshing_mail_attempts_total",
			Help: "Attempts at sending a mail of the outbox, by kind (reset-password, email-confirmation) and outcome (sent, retry, failed, dropped).",
		}, []string{"kind", "outcome"}),
		queue: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "refreshing_mail_outbox",
			Help: "Mails in the outbox by state (pending, sent, failed, dropped), as last counted by the mail sender.",
		}, []string{"state"}),
	}
	reg.MustRegister(m.attempts, m.queue)
	for _, k := range []string{refreshing.MailResetPassword, refreshing.MailEmailConfirmation} {
		for _, o := range []string{"sent", "retry", "failed", "dropped"} {
			m.attempts.WithLabelValues(k, o)
		}
	}
	for _, s := range []string{refreshing.MailPending, refreshing.MailSent, refreshing.MailFailed, refreshing.MailDropped} {
		m.queue.WithLabelValues(s)
	}
	return m
}

// Mailed implements refreshing.MailObserver.
func (m *Metrics) Mailed(kind, outcome string) {
	switch kind {
	case refreshing.MailResetPassword, refreshing.MailEmailConfirmation:
	default:
		kind = "other"
	}
	m.mail.attempts.WithLabelValues(kind, outcome).Inc()
}

// MailQueue implements refreshing.MailObserver.
func (m *Metrics) MailQueue(counts map[string]int64) {
	for _, s := range []string{refreshing.MailPending, refreshing.MailSent, refreshing.MailFailed, refreshing.MailDropped} {
		m.mail.queue.WithLabelValues(s).Set(float64(counts[s]))
	}
}
