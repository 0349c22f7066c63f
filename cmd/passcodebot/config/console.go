package config

import "errors"

// validateConsole checks the console section against the rest of the file.
func (c *Config) validateConsole() error {
	if err := c.Console.Validate(c.Reauth == "oidc"); err != nil {
		return err
	}
	if c.Console.Enabled && c.Console.Listener == "admin" && c.HTTP.AdminListen == "" {
		return errors.New("console.listener: admin needs http.admin_listen")
	}
	return nil
}
