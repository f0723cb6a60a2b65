// havip / Instance: one VRRP instance on one router: state, priorities, peers, timers, packets,
// trackers.
local g = import '../lib/grafana.libsonnet';

{
  local h = (import '../lib/havip.libsonnet')($._config),
  local scope = h.scope,
  local router = h.routerScope,
  local sel(metric, matchers=scope) = h.selector(metric, matchers),

  local now = [
    g.add(g.stat(
      'State', 'Current VRRP state.', g.targets([[h.stateCode(scope), '']]), mappings=h.stateCodeMapping
    ), 4, 4),
  ] + [
    g.add(g.stat(s[1], s[2], g.targets([[sel(s[0]), '']])), 3, 4)
    for s in [
      ['havip_vrrp_priority', 'Base priority', 'Configured priority.'],
      [
        'havip_vrrp_effective_priority',
        'Effective priority',
        'Priority advertised now, after tracked scripts and interfaces.',
      ],
      ['havip_vrrp_master_priority', 'Master priority', 'Priority of the current master.'],
      ['havip_vrrp_peers', 'Peers', 'Other routers heard within the last master-down interval.'],
    ]
  ] + [
    g.add(g.stat(
      'Last transition',
      'When the instance last changed state.',
      g.targets([['%s * 1000' % sel('havip_vrrp_last_transition_timestamp_seconds'), '']]),
      unit='dateTimeFromNow',
    ), 4, 4),
    g.add(g.stat(
      'havip version',
      'The havip release running on this router.',
      g.targets([[sel('havip_build_info', router), '{{version}}']]),
      textMode='name',
    ), 4, 4),
    g.add(g.table(
      'Configuration',
      'The VRRP instance as havip runs it.',
      [g.target(sel('havip_vrrp_instance_info'), table=true)],
      transformations=[g.hideAndRename(['Time', 'Value', '__name__', 'job'])],
      overrides=[],
    ), 24, 3),
  ],

  local history = [
    g.add(g.stateTimeline(
      'State history',
      'VRRP state over time.',
      g.targets([[h.stateCode(scope), '{{vrrp_instance}}']]),
      h.stateCodeMapping,
    ), 24, 5),
    g.add(g.timeseries(
      'Priority',
      'Base (configured) and effective (advertised) priority of this router, and the '
      + "current master's. Effective below base: a tracker is failing.",
      g.targets([
        [sel('havip_vrrp_priority'), 'base'],
        [sel('havip_vrrp_effective_priority'), 'effective'],
        [sel('havip_vrrp_master_priority'), 'master'],
      ]),
      decimals=0,
    )),
    g.add(g.timeseries(
      'Transitions',
      'State transitions per interval, by from/to state and reason.',
      g.targets([[
        h.counterIncrease('havip_vrrp_transitions_total', scope, by='from_state, to_state, reason'),
        '{{from_state}} to {{to_state}} ({{reason}})',
      ]]),
      bars=true,
      decimals=0,
    )),
    g.add(g.timeseries(
      'Peers',
      'Other routers heard within the last master-down interval.',
      g.targets([[sel('havip_vrrp_peers'), 'peers']]),
      decimals=0,
    )),
    g.add(g.timeseries(
      'Timers',
      "This router's advertisement interval, the master's, and the master-down "
      + 'interval after which a backup takes over.',
      g.targets([
        [sel('havip_vrrp_advert_interval_seconds'), 'advertisement interval'],
        [sel('havip_vrrp_master_advert_interval_seconds'), 'master advertisement interval'],
        [sel('havip_vrrp_master_down_interval_seconds'), 'master-down interval'],
      ]),
      unit='s',
    )),
  ],

  local adverts = [
    g.add(g.timeseries(
      'Advertisements',
      'Advertisements sent and received per second.',
      g.targets([
        [h.counterRate('havip_vrrp_adverts_sent_total', scope, by='vrrp_instance'), 'sent'],
        [h.counterRate('havip_vrrp_adverts_received_total', scope, by='vrrp_instance'), 'received'],
      ]),
      unit='pps',
    )),
    g.add(g.timeseries(
      'Priority-0 adverts and master conflicts',
      'Priority-0 advertisements sent and received, and advertisements from another '
      + 'master heard while master.',
      g.targets([
        [
          h.counterIncrease('havip_vrrp_priority_zero_sent_total', scope, by='vrrp_instance'),
          'priority 0 sent',
        ],
        [
          h.counterIncrease('havip_vrrp_priority_zero_received_total', scope, by='vrrp_instance'),
          'priority 0 received',
        ],
        [
          h.counterIncrease('havip_vrrp_master_conflicts_total', scope, by='vrrp_instance'),
          'master conflicts',
        ],
      ]),
      bars=true,
      decimals=0,
    )),
  ],

  local vipsAndTrackers = [
    g.add(g.timeseries(
      'VIP changes',
      'Virtual addresses added and removed per interval, and changes the kernel refused.',
      g.targets([
        [h.counterIncrease('havip_vip_changes_total', scope, by='op'), '{{op}}'],
        [h.counterIncrease('havip_vip_change_failures_total', scope, by='op'), '{{op}} failed'],
      ]),
      bars=true,
      decimals=0,
    ), 8, 8),
    g.add(g.timeseries(
      'Announcements',
      'Gratuitous ARP and unsolicited neighbour advertisements sent per interval.',
      g.targets([[h.counterIncrease('havip_announcements_sent_total', scope, by='kind'), '{{kind}}']]),
      bars=true,
      decimals=0,
    ), 8, 8),
    g.add(g.timeseries(
      'Notify scripts',
      'Notify script runs per interval, by result.',
      g.targets([[h.counterIncrease('havip_notify_runs_total', scope, by='result'), '{{result}}']]),
      bars=true,
      decimals=0,
    ), 8, 8),
    g.add(g.stateTimeline(
      'Tracked scripts and interfaces',
      'Trackers on this router: a failing one lowers the priority or forces FAULT.',
      g.targets([
        [sel('havip_track_script_up', router), 'script {{script}}'],
        [sel('havip_track_interface_up', router), 'interface {{interface}}'],
      ]),
      h.upMapping,
    )),
    g.add(g.timeseries(
      'Track script duration (p90)',
      "90th percentile of each tracked script's run time.",
      g.targets([[
        h.quantile('0.9', 'havip_track_script_duration_seconds', router, by='script, le'),
        '{{script}}',
      ]]),
      unit='s',
    )),
  ],

  local process = [
    g.add(g.timeseries(
      'CPU',
      'CPU time havip uses: near 100% of one core starves its event loop.',
      g.targets([['rate(%s%s)' % [sel('process_cpu_seconds_total', router), h.rate], 'cpu']]),
      unit='percentunit',
    ), 8, 7),
    g.add(g.timeseries(
      'Memory',
      'Resident memory of the havip process.',
      g.targets([[sel('process_resident_memory_bytes', router), 'resident']]),
      unit='bytes',
    ), 8, 7),
    g.add(g.timeseries(
      'File descriptors',
      'Open file descriptors and the limit.',
      g.targets([
        [sel('process_open_fds', router), 'open'],
        [sel('process_max_fds', router), 'max'],
      ]),
      decimals=0,
    ), 8, 7),
  ],

  grafanaDashboards+:: {
    'havip-instance.json': h.dashboard(
      'havip-instance.json',
      'Instance',
      'One VRRP instance on one havip router: state and priority history, peers, timers, '
      + 'advertisements, rejected packets, failovers, VIPs and trackers.',
      [g.row('Now')] + now
      + [g.row('State and priority')] + history
      + [g.row('Advertisements and packets')] + adverts
      + h.packetPanels(rejectedScope=scope, authScope=scope, per=[])
      + [g.row('Failover')] + h.durationPanels(scope)
      + [g.row('VIPs, trackers and notify scripts')] + vipsAndTrackers
      + [g.row('havip process')] + process,
      multi=false,
    ),
  },
}
