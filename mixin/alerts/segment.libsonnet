// Alerts from `havip monitor`: every VRRP group on a segment, whoever runs it (keepalived, FRR,
// a switch vendor or havip), as a passive observer hears it on the wire. A group here is
// (interface, family, vrid) of one monitor (`instance`); several monitors on one segment each
// alert for what they hear. alerts/tests/segment.yml proves each fires and stays quiet.
{
  local promql = (import '../lib/promql.libsonnet')($._config),
  local s = promql.selector,
  local fold(text) = std.rstripChars(std.strReplace(text, '\n', ' '), ' '),
  local alert(name, expr, for_, severity, summary, description) = {
    alert: name,
    expr: expr,
    'for': for_,
    labels: { severity: severity },
    annotations: {
      summary: summary,
      description: fold(description),
      runbook_url: promql.runbookURL(name),
    },
  },

  prometheusAlerts+:: {
    groups+: [{
      name: 'havip.segment',
      rules: [
        // Value: speakers advertising at once. Backups never advertise, so each is a master.
        alert(
          'HavipSegmentSplitBrain',
          '%s > 1' % s('havip_monitor_masters'),
          '1m',
          'critical',
          '{{ $value }} VRRP masters advertise VRID {{ $labels.vrid }} on {{ $labels.instance }} {{ $labels.interface }}.',
          |||
            The monitor {{ $labels.instance }} hears {{ $value }} routers advertising VRID
            {{ $labels.vrid }} ({{ $labels.family }}) on {{ $labels.interface }} at once, for
            over a minute. Each one is MASTER and answers for the VIPs: they do not hear each
            other, or drop each other's adverts. `havip status --url` on the monitor names them.
          |||,
        ),
        alert(
          'HavipSegmentSilent',
          '%s == 1' % s('havip_monitor_silent'),
          '1m',
          'critical',
          'VRID {{ $labels.vrid }} on {{ $labels.instance }} {{ $labels.interface }} has no master.',
          |||
            The monitor {{ $labels.instance }} heard VRID {{ $labels.vrid }}
            ({{ $labels.family }}) on {{ $labels.interface }} before, but nobody has advertised it
            for longer than its master-down interval, for over a minute: no router serves its
            VIPs, or the monitor lost the link.
          |||,
        ),
        alert(
          'HavipSegmentMisconfigured',
          '%s == 1' % s('havip_monitor_disagreement'),
          '5m',
          'warning',
          'Routers of VRID {{ $labels.vrid }} on {{ $labels.instance }} {{ $labels.interface }} disagree on {{ $labels.field }}.',
          |||
            The routers heard advertising VRID {{ $labels.vrid }} ({{ $labels.family }}) on
            {{ $labels.interface }} send different values of {{ $labels.field }}. Routers that
            disagree on the password, version or (VRRPv2) interval drop each other's adverts
            and both become MASTER; other differences make the next failover change the group.
          |||,
        ),
        alert(
          'HavipSegmentMalformedPackets',
          'increase(%s[5m]) > 0' % s('havip_monitor_packets_malformed_total'),
          '10m',
          'warning',
          'Malformed VRRP packets on {{ $labels.instance }} {{ $labels.interface }} ({{ $labels.reason }}).',
          |||
            The monitor {{ $labels.instance }} captured {{ $value | printf "%.0f" }} VRRP packets
            on {{ $labels.interface }} in the last 5 minutes that routers drop (reason
            {{ $labels.reason }}): a sender is broken, beyond a router (ttl), or forging.
          |||,
        ),
        alert(
          'HavipSegmentTableFull',
          'increase(%s[10m]) > 0' % s('havip_monitor_evictions_total'),
          '1m',
          'warning',
          'The VRRP monitor {{ $labels.instance }} evicts {{ $labels.kind }}s on {{ $labels.interface }}.',
          |||
            {{ $value | printf "%.0f" }} {{ $labels.kind }} entries were evicted on
            {{ $labels.interface }} in the last 10 minutes because the table was full: many
            more VRRP sources or groups than a segment has, usually forged advertisements.
          |||,
        ),
      ],
    }],
  },
}
