// Alerts on VRRP groups, instances, packets and scraping. Each alert's runbook_url points at
// its section of alerts/runbook.md; alerts/tests/*.yml prove each fires and stays quiet.
{
  local promql = (import '../lib/promql.libsonnet')($._config),
  local s = promql.selector,
  // A description written over several lines, as YAML's folded `>-` would read it.
  local fold(text) = std.rstripChars(std.strReplace(text, '\n', ' '), ' '),
  local vars = {
    group: promql.groupLabels,
    info: promql.groupInfoLabels,
    key: promql.instanceKey,
    rate: $._config.rateInterval,
    jobs: $._config.jobSelector,
  },
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
      name: 'havip.alerts',
      rules: [
        // One alert per master of the group, so each names a router; value: masters in group.
        alert(
          'HavipSplitBrain',
          |||
            (
              havip:vrrp_group_masters:count
                * on (%(group)s) group_right
              havip:vrrp_state:group{state="master"}
            ) > 1
          ||| % vars,
          '1m',
          'critical',
          'More than one MASTER for VRID {{ $labels.vrid }} ({{ $labels.vips }}).',
          |||
            {{ $value }} routers are MASTER at once for VRID {{ $labels.vrid }}
            ({{ $labels.family }}, VIPs {{ $labels.vips }}); {{ $labels.instance }}
            (VRRP instance {{ $labels.vrrp_instance }}) is one of them. They do not hear each
            other's advertisements and all of them answer for the VIPs, so traffic is split.
          |||,
        ),
        // Value: havip routers in the group. A master havip does not scrape still counts when
        // the group's routers hear its advertisements.
        alert(
          'HavipNoMaster',
          |||
            havip:vrrp_group_routers:count
              unless on (%(group)s) (havip:vrrp_group_masters:count > 0)
              unless on (%(group)s) (havip:vrrp_group_adverts_received:rate%(rate)s > 0)
          ||| % vars,
          '1m',
          'critical',
          'No MASTER for VRID {{ $labels.vrid }} ({{ $labels.vips }}).',
          |||
            None of the {{ $value }} havip routers of VRID {{ $labels.vrid }}
            ({{ $labels.family }}) is MASTER and none of them hears a master's advertisements:
            nobody serves the VIPs {{ $labels.vips }}.
          |||,
        ),
        alert(
          'HavipInstanceFault',
          |||
            (
              %(fault)s
                * on (%(key)s) group_left (vrid, interface, vips)
              %(instanceInfo)s
            ) == 1
          ||| % vars {
            fault: s('havip_vrrp_state', ['state="fault"']),
            instanceInfo: s('havip_vrrp_instance_info'),
          },
          '1m',
          'warning',
          'VRRP instance {{ $labels.vrrp_instance }} on {{ $labels.instance }} is in FAULT.',
          |||
            {{ $labels.vrrp_instance }} (VRID {{ $labels.vrid }} on {{ $labels.interface }},
            VIPs {{ $labels.vips }}) on {{ $labels.instance }} is in FAULT: its interface is
            down or a tracked script or interface with weight 0 failed. It can neither be
            MASTER nor take over, so the group has one router less.
          |||,
        ),
        // Transitions caused by the protocol or trackers; start-up, reload and shutdown are
        // the operator's doing and do not count.
        alert(
          'HavipFlapping',
          |||
            sum without (from_state, to_state, reason) (
              increase(%s[15m])
            ) > 4
          ||| % s('havip_vrrp_transitions_total', ['reason!~"startup|reload|shutdown"']),
          '1m',
          'warning',
          'VRRP instance {{ $labels.vrrp_instance }} on {{ $labels.instance }} is flapping.',
          |||
            {{ $labels.vrrp_instance }} on {{ $labels.instance }} changed state
            {{ $value | printf "%.0f" }} times in the last 15 minutes. Each change moves the VIPs
            and breaks connections through them.
          |||,
        ),
        alert(
          'HavipAuthFailures',
          'increase(%s[5m]) > 0' % s('havip_vrrp_auth_failures_total'),
          '10m',
          'warning',
          'VRRP authentication failures for {{ $labels.vrrp_instance }} on {{ $labels.instance }}.',
          |||
            {{ $labels.instance }} dropped {{ $value | printf "%.0f" }} advertisements for
            {{ $labels.vrrp_instance }} in the last 5 minutes because authentication failed
            (reason {{ $labels.reason }}). A router in the group has a different auth_type or
            auth_pass, or someone sends forged advertisements.
          |||,
        ),
        // vrid: adverts of other groups on the same link; own_advert: our own multicast looped
        // back; auth_*: counted by HavipAuthFailures. All three are normal or alerted elsewhere.
        alert(
          'HavipPacketsRejected',
          |||
            increase(
              %s[5m]
            ) > 0
          ||| % s(
            'havip_vrrp_packets_rejected_total',
            ['reason!~"vrid|own_advert|auth_type|auth_mismatch|auth_password"'],
          ),
          '10m',
          'warning',
          'VRRP packets rejected on {{ $labels.instance }} {{ $labels.interface }} ({{ $labels.reason }}).',
          |||
            {{ $labels.instance }} dropped {{ $value | printf "%.0f" }} VRRP packets on
            {{ $labels.interface }} in the last 5 minutes for reason {{ $labels.reason }}
            ({{ with $labels.vrrp_instance }}VRRP instance {{ . }}{{ else }}no VRRP instance
            matched{{ end }}). A router on the link is configured differently or the packets
            are damaged on the way.
          |||,
        ),
        // Value: the share of the advertisements due (one per advert interval) actually sent.
        alert(
          'HavipMasterNotAdvertising',
          |||
            (
              rate(%(sent)s[%(rate)s])
                * on (%(key)s)
              %(interval)s
            ) < 0.5
            and on (%(key)s)
            (%(master)s == 1)
          ||| % vars {
            sent: s('havip_vrrp_adverts_sent_total'),
            interval: s('havip_vrrp_advert_interval_seconds'),
            master: s('havip_vrrp_state', ['state="master"']),
          },
          '2m',
          'critical',
          'MASTER {{ $labels.vrrp_instance }} on {{ $labels.instance }} stopped advertising.',
          |||
            {{ $labels.instance }} is MASTER of {{ $labels.vrrp_instance }} but sent only
            {{ $value | humanizePercentage }} of the advertisements due in the last 2 minutes.
            Backups that miss them take over: expect a split brain or VIPs moving back and forth.
          |||,
        ),
        // Value: priority points lost to failing trackers.
        alert(
          'HavipEffectivePriorityBelowBase',
          '(%s - %s) > 0' % [s('havip_vrrp_priority'), s('havip_vrrp_effective_priority')],
          '5m',
          'warning',
          'VRRP instance {{ $labels.vrrp_instance }} on {{ $labels.instance }} runs below its priority.',
          |||
            {{ $labels.vrrp_instance }} on {{ $labels.instance }} advertises {{ $value }} below
            its configured priority, so it loses or no longer wins the MASTER election.
            Failing tracked scripts on this router:
            {{ range $i, $s := printf "havip_track_script_up{job=%q,instance=%q} == 0" $labels.job $labels.instance | query | sortByLabel "script" }}{{ if $i }}, {{ end }}{{ $s.Labels.script }}{{ else }}none{{ end }};
            tracked interfaces down:
            {{ range $i, $s := printf "havip_track_interface_up{job=%q,instance=%q} == 0" $labels.job $labels.instance | query | sortByLabel "interface" }}{{ if $i }}, {{ end }}{{ $s.Labels.interface }}{{ else }}none{{ end }}.
          |||,
        ),
        // Only groups that had a havip BACKUP during the last day: a group whose other routers
        // are not havip (keepalived), or that has one router by design, has no backup to lose.
        // Value: havip routers still reporting the group.
        alert(
          'HavipNoBackup',
          |||
            havip:vrrp_group_routers:count
              and on (%(group)s) (havip:vrrp_group_backups:count == 0)
              and on (%(group)s) (havip:vrrp_group_masters:count == 1)
              and on (%(group)s) (max_over_time(havip:vrrp_group_backups:count[1d]) > 0)
          ||| % vars,
          '10m',
          'warning',
          'No BACKUP left for VRID {{ $labels.vrid }} ({{ $labels.vips }}).',
          |||
            VRID {{ $labels.vrid }} ({{ $labels.family }}, VIPs {{ $labels.vips }}) has a
            MASTER but none of its {{ $value }} havip routers is BACKUP, although it had one
            during the last day. If the master fails now, nobody takes over the VIPs.
          |||,
        ),
        // A failover cannot be faster than the master-down interval (the silence that
        // declares the master dead); alert when the 90th percentile exceeds it by 2 s.
        alert(
          'HavipSlowFailover',
          |||
            histogram_quantile(0.9,
              sum by (%(key)s, le) (
                increase(%(buckets)s[1h])
              )
            )
            > on (%(key)s)
            (%(down)s + 2)
          ||| % vars {
            buckets: s('havip_vrrp_failover_duration_seconds_bucket'),
            down: s('havip_vrrp_master_down_interval_seconds'),
          },
          '1m',
          'warning',
          'Slow VRRP failovers to {{ $labels.vrrp_instance }} on {{ $labels.instance }}.',
          |||
            90% of the failovers to {{ $labels.instance }} ({{ $labels.vrrp_instance }}) in the
            last hour took up to {{ $value | humanizeDuration }} from the old master's last
            advertisement to the VIPs announced here: more than 2 s beyond the master-down
            interval.
          |||,
        ),
        alert(
          'HavipMasterConflict',
          'increase(%s[2m]) > 0' % s('havip_vrrp_master_conflicts_total'),
          '5m',
          'warning',
          'Another MASTER competes with {{ $labels.vrrp_instance }} on {{ $labels.instance }}.',
          |||
            {{ $labels.instance }} is MASTER of {{ $labels.vrrp_instance }} and received
            {{ $value | printf "%.0f" }} advertisements from another master in the last
            2 minutes, continuously for 5 minutes. The other router does not step down: it
            does not receive or does not accept this router's advertisements.
          |||,
        ),
        alert(
          'HavipVipChangeFailed',
          'increase(%s[10m]) > 0' % s('havip_vip_change_failures_total'),
          '1m',
          'critical',
          'havip on {{ $labels.instance }} failed to {{ $labels.op }} VIPs of {{ $labels.vrrp_instance }}.',
          |||
            The kernel refused {{ $value | printf "%.0f" }} VIP {{ $labels.op }} operations for
            {{ $labels.vrrp_instance }} on {{ $labels.instance }} in the last 10 minutes. A
            master without its VIPs serves nothing; a backup that keeps them duplicates them.
          |||,
        ),
        alert(
          'HavipScrapeDown',
          'up{%(jobs)s} == 0' % vars,
          '5m',
          'warning',
          'Prometheus cannot scrape havip on {{ $labels.instance }}.',
          |||
            The scrape of {{ $labels.instance }} (job {{ $labels.job }}) has failed for
            5 minutes: the router, havip or its metrics port is down. Split brain and
            redundancy alerts cannot see this router meanwhile.
          |||,
        ),
        alert(
          'HavipMetricsAbsent',
          'absent(up{%(jobs)s})' % vars,
          '15m',
          'critical',
          'Prometheus scrapes no havip target at all.',
          |||
            No scrape job that up{%s} selects has had a target for 15 minutes, so no havip
            alert can fire: split brain and lost masters go unnoticed.
          ||| % $._config.jobSelector,
        ),
      ],
    }],
  },
}
