package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/passcodebot/passcodebot/resetflow"
)

// KeepAlerts replaces the helpdesk alerts kept for a channel: those the bot
// had not delivered when it stopped. Alerts carry no secret.
func (d *DB) KeepAlerts(ctx context.Context, channel string, alerts []resetflow.Alert) error {
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM kept_alerts WHERE channel = $1`, channel)
		for i, al := range alerts {
			data, err := json.Marshal(al)
			if err != nil {
				return err
			}
			b.Queue(`INSERT INTO kept_alerts (channel, seq, data) VALUES ($1, $2, $3)`, channel, i, data)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("postgres: keep alerts: %w", err)
	}
	return nil
}

// KeptAlerts returns the helpdesk alerts kept for a channel, oldest first.
func (d *DB) KeptAlerts(ctx context.Context, channel string) ([]resetflow.Alert, error) {
	rows, err := d.pool.Query(ctx, `SELECT data FROM kept_alerts WHERE channel = $1 ORDER BY seq`, channel)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []resetflow.Alert
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var al resetflow.Alert
		if err := json.Unmarshal(data, &al); err != nil {
			return nil, fmt.Errorf("postgres: kept alert: %w", err)
		}
		out = append(out, al)
	}
	return out, rows.Err()
}
