package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// unverifiedHosts returns the hosts cc may connect to, its fallbacks
// included, that are neither local (a Unix socket, localhost, a loopback
// address) nor reached with TLS verifying the server's certificate: sslmode
// disable, allow, prefer (the default) and require, where a machine in the
// middle can read and change the traffic, passwords and the secrets the
// store writes included. verify-ca and verify-full verify it.
func unverifiedHosts(cc *pgconn.Config) []string {
	var hosts []string
	check := func(host string, port uint16, verified bool) {
		if verified || isLocal(host) {
			return
		}
		h := fmt.Sprintf("%s:%d", host, port)
		for _, seen := range hosts {
			if seen == h {
				return
			}
		}
		hosts = append(hosts, h)
	}
	check(cc.Host, cc.Port, cc.TLSConfig != nil && (!cc.TLSConfig.InsecureSkipVerify || cc.TLSConfig.VerifyPeerCertificate != nil))
	for _, fb := range cc.Fallbacks {
		check(fb.Host, fb.Port, fb.TLSConfig != nil && (!fb.TLSConfig.InsecureSkipVerify || fb.TLSConfig.VerifyPeerCertificate != nil))
	}
	return hosts
}

// isLocal reports whether host is this machine: a Unix socket directory,
// localhost, or a loopback address.
func isLocal(host string) bool {
	if strings.HasPrefix(host, "/") || strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && addr.IsLoopback()
}

// warnUnverified logs, at slog.LevelWarn through l, that cc reaches remote
// hosts without verifying their TLS certificate, if it does.
func warnUnverified(ctx context.Context, l *slog.Logger, cc *pgconn.Config) {
	hosts := unverifiedHosts(cc)
	if len(hosts) == 0 {
		return
	}
	l.LogAttrs(ctx, slog.LevelWarn, "postgres: the connection to a remote host does not verify the server's TLS certificate"+
		" (sslmode is not verify-full or verify-ca): whoever is on the network path can read and change the traffic;"+
		" use sslmode=verify-full (README: Security)",
		slog.String("hosts", strings.Join(hosts, ",")))
}
