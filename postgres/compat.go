package postgres

import "errors"

// ErrLimitReached stands for resetflow.ErrLimitReached until the port has it.
var ErrLimitReached = errors.New("resetflow: daily reset limit reached")
