// Package sim is a GRBL 1.1h board, simulated as seen over its serial wire.
package sim
