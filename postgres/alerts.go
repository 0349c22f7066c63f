package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/passcodebot/passcodebot/resetflow"
)

// KeepAlerts replaces the helpdesk alerts kept for a channel: those the bot
// had not delivered when it stopped. Alerts carry no secret.
func (d *DB) KeepAlerts(ctx context.Context, channel string, alerts []resetflow.Alert) error {
	// pgx sent a batch; here the delete, then the alerts in statements of many rows.
	args := make([]any, 0, 3*len(alerts))
	for i, al := range alerts {
		data, err := json.Marshal(al)
		if err != nil {
			return fmt.Errorf("postgres: keep alerts: %w", err)
		}
		args = append(args, channel, i, string(data))
	}
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := d.txExec(ctx, tx, `DELETE FROM kept_alerts WHERE channel = $1`, channel); err != nil {
			return err
		}
		const cols, per = 3, maxParams / 3
		for rest := args; len(rest) > 0; {
			n := min(len(rest)/cols, per)
			if _, err := d.txExec(ctx, tx, `INSERT INTO kept_alerts (channel, seq, data) VALUES `+values(n, cols), rest[:n*cols]...); err != nil {
				return err
			}
			rest = rest[n*cols:]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: keep alerts: %w", err)
	}
	return nil
}

// KeptAlerts returns the helpdesk alerts kept for a channel, oldest first.
func (d *DB) KeptAlerts(ctx context.Context, channel string) ([]resetflow.Alert, error) {
	rows, err := d.query(ctx, `SELECT data FROM kept_alerts WHERE channel = $1 ORDER BY seq`, channel)
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
