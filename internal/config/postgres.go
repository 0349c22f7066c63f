package config

import (
	"fmt"
	"time"
)

// Postgres tunes the replicas on PostgreSQL (store: postgres). The connection
// string is never in the file: it comes from PASSCODEBOT_POSTGRES_URL.
type Postgres struct {
	// LeaseName names the leader lease: the replicas of one deployment share it.
	// Two deployments on one database (a Slack bot and a Discord bot, say) each
	// have a leader of their own under different names; the daily limit holds across them.
	LeaseName string `yaml:"lease_name"`
	// LeaseTTL is how long a renewal of the leader lease holds: a leader that
	// is killed or cut from the database is replaced after at most this.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// LeaseRenew is how often the leader renews the lease.
	LeaseRenew time.Duration `yaml:"lease_renew"`
	// LeasePoll is how often a standby tries to take the lease.
	LeasePoll time.Duration `yaml:"lease_poll"`
}

func (p Postgres) validate() error {
	if p.LeaseName == "" {
		return fmt.Errorf("postgres.lease_name: needed")
	}
	if p.LeaseTTL < 2*time.Second || p.LeaseTTL > time.Minute {
		return fmt.Errorf("postgres.lease_ttl: %v must be between 2s and 1m", p.LeaseTTL)
	}
	if p.LeaseRenew <= 0 || p.LeaseRenew > p.LeaseTTL/3 {
		return fmt.Errorf("postgres.lease_renew: %v must be positive and at most a third of lease_ttl", p.LeaseRenew)
	}
	if p.LeasePoll <= 0 || p.LeasePoll > p.LeaseTTL/2 {
		return fmt.Errorf("postgres.lease_poll: %v must be positive and at most half of lease_ttl", p.LeasePoll)
	}
	return nil
}
