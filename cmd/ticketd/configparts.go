package main

import (
	"flag"
	"fmt"
	"strings"

	"trivialtickets/core"
)

// parseMixed parses args with fs, where flags and command words may be
// mixed ("ticketd user add bob --data d"), and returns the command words.
func parseMixed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return nil, err
		}
		rest = fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		rest = rest[1:]
	}
}

// normalizeAddresses checks support-address and from-address and writes
// them in their normal form.
func (c *Config) normalizeAddresses() error {
	for i, a := range c.SupportAddresses {
		addr, err := core.ParseAddress(a)
		if err != nil {
			return fmt.Errorf("setting support-address: %w", err)
		}
		if strings.Contains(addr[:strings.LastIndexByte(addr, '@')], "+") {
			return fmt.Errorf("setting support-address: %q must not contain '+': plus-addresses are made from it", a)
		}
		c.SupportAddresses[i] = addr
	}
	if c.FromAddress != "" {
		addr, err := core.ParseAddress(c.FromAddress)
		if err != nil {
			return fmt.Errorf("setting from-address: %w", err)
		}
		c.FromAddress = addr
	}
	return nil
}

// applyOverrides applies the environment variables, then the flags given
// (flag > environment > file).
func (c *Config) applyOverrides(envMap map[string]string, given []*settingValue) error {
	apply := func(s setting, vals []string, where string) error {
		if s.repeatable {
			c.SupportAddresses = nil
		}
		for _, v := range vals {
			if err := s.set(c, v); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
		}
		return nil
	}
	for _, s := range settings {
		v, ok := envMap[s.env()]
		if !ok || s.name == "config" {
			continue
		}
		vals := []string{v}
		if s.repeatable {
			vals = splitList(v)
		}
		if err := apply(s, vals, "environment variable "+s.env()); err != nil {
			return err
		}
	}
	for i, s := range settings {
		if len(given[i].vals) > 0 && s.name != "config" {
			if err := apply(s, given[i].vals, "flag --"+s.name); err != nil {
				return err
			}
		}
	}
	return nil
}
