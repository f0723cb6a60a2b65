// havip / Fleet overview: every group of the fleet, who is master, what is wrong, how
// failovers went.
local g = import '../lib/grafana.libsonnet';

{
  local h = (import '../lib/havip.libsonnet')($._config),
  local scope = h.scope,
  local byInstance = 'instance, vrrp_instance',
  local redFromOne = g.thresholds([['green', null], ['red', 1]]),
  local masters = h.groupStateCount('master'),
  local backups = h.groupStateCount('backup'),

  local instanceLink =
    '/d/%s/havip-instance?${datasource:queryparam}' % $._config.dashboardUIDs['havip-instance.json']
    + '&var-job=${__data.fields.job}&var-router=${__data.fields.instance}'
    + '&var-vrrp_instance=${__data.fields.vrrp_instance}&${__url_time_range}',

  local indicators = [
    g.add(g.stat(
      'Groups',
      'VRRP groups: distinct (vrid, family, vips).',
      g.targets([[
        'count(count by (%s) (%s))' % [h.groupLabels, h.selector('havip_vrrp_instance_info', [h.job])],
        '',
      ]]),
    ), 4, 4),
    g.add(g.stat(
      'Routers',
      'havip processes scraped.',
      g.targets([['count(%s)' % h.selector('havip_build_info', [h.job]), '']]),
    ), 4, 4),
    g.add(g.stat(
      'Split brain',
      'Groups with more than one MASTER (alert HavipSplitBrain).',
      g.targets([['count((%s) > 1) or vector(0)' % masters, '']]),
      steps=redFromOne,
    ), 4, 4),
    g.add(g.stat(
      'No master',
      "Groups where no havip router is MASTER and none hears a master's advertisements "
      + '(alert HavipNoMaster).',
      g.targets([[
        'count(((%s) == 0) unless on (%s) ((%s) > 0)) or vector(0)'
        % [masters, h.groupLabels, h.groupAdvertsReceived],
        '',
      ]]),
      steps=redFromOne,
    ), 4, 4),
    g.add(g.stat(
      'No backup',
      'Groups with a MASTER and no havip router in BACKUP. Groups whose backups are '
      + 'not havip (keepalived) show here too.',
      g.targets([[
        'count(((%s) == 0) and on (%s) ((%s) == 1)) or vector(0)' % [backups, h.groupLabels, masters],
        '',
      ]]),
      steps=g.thresholds([['green', null], ['orange', 1]]),
    ), 4, 4),
    g.add(g.stat(
      'In FAULT',
      'VRRP instances in FAULT (alert HavipInstanceFault).',
      g.targets([[
        'count((%s) == 1) or vector(0)' % h.selector('havip_vrrp_state', scope + [h.stateMatcher('fault')]),
        '',
      ]]),
      steps=g.thresholds([['green', null], ['orange', 1]]),
    ), 4, 4),
  ],

  local tables = [
    g.add(g.table(
      'Groups',
      'Every VRRP group with its number of MASTERs (red unless exactly one), BACKUPs '
      + 'and havip routers.',
      [
        g.target(masters, ref='A', table=true),
        g.target(backups, ref='B', table=true),
        g.target(
          'count by (%s) (%s)' % [h.groupLabels, h.selector('havip_vrrp_instance_info', [h.job])],
          ref='C',
          table=true,
        ),
      ],
      transformations=[
        { id: 'merge', options: {} },
        g.hideAndRename(
          ['Time'], { 'Value #A': 'Masters', 'Value #B': 'Backups', 'Value #C': 'Routers' }
        ),
      ],
      overrides=[
        g.fieldOverride('Masters', [
          ['color', { mode: 'thresholds' }],
          ['custom.cellOptions', { type: 'color-background' }],
          ['thresholds', g.thresholds([['red', null], ['green', 1], ['red', 2]])],
        ]),
      ],
    ), 12, 9),
    g.add(g.table(
      'Routers',
      'The current state of every VRRP instance on every router, with its group. '
      + 'Click a VRRP instance for its drill-down.',
      [g.target(
        '(%s == 1) * on (%s) group_left (%s, interface) %s' % [
          h.selector('havip_vrrp_state', scope),
          h.instanceKey,
          h.groupInfoLabels,
          h.selector('havip_vrrp_instance_info', [h.job]),
        ],
        table=true,
      )],
      transformations=[g.hideAndRename(['Time', 'Value', '__name__'])],
      overrides=[
        g.fieldOverride('state', [
          ['mappings', h.stateLabelMapping],
          ['custom.cellOptions', { type: 'color-background' }],
        ]),
        g.fieldOverride('vrrp_instance', [
          ['links', [{ title: 'havip / Instance', url: instanceLink }]],
        ]),
      ],
    ), 12, 9),
  ],

  local state = [
    g.add(g.stateTimeline(
      'VRRP state',
      'State of each VRRP instance on each router over time.',
      g.targets([[h.stateCode(scope), '{{instance}} {{vrrp_instance}}']]),
      h.stateCodeMapping,
    ), 24, 9),
    g.add(g.timeseries(
      'Transitions',
      'State transitions per interval, by new state and reason.',
      g.targets([[
        h.counterIncrease(
          'havip_vrrp_transitions_total', scope, by='instance, vrrp_instance, to_state, reason'
        ),
        '{{instance}} {{vrrp_instance}} to {{to_state}} ({{reason}})',
      ]]),
      bars=true,
      decimals=0,
    )),
    g.add(g.timeseries(
      'Priority-0 adverts and master conflicts',
      'Priority-0 advertisements (a master leaving on purpose) and advertisements '
      + 'from another master heard while master (alert HavipMasterConflict).',
      g.targets([
        [
          h.counterIncrease('havip_vrrp_priority_zero_sent_total', scope, by=byInstance),
          '{{instance}} {{vrrp_instance}} priority 0 sent',
        ],
        [
          h.counterIncrease('havip_vrrp_priority_zero_received_total', scope, by=byInstance),
          '{{instance}} {{vrrp_instance}} priority 0 received',
        ],
        [
          h.counterIncrease('havip_vrrp_master_conflicts_total', scope, by=byInstance),
          '{{instance}} {{vrrp_instance}} master conflicts',
        ],
      ]),
      bars=true,
      decimals=0,
    )),
  ],

  local adverts = [
    g.add(g.timeseries(
      'Advertisements sent',
      'Advertisements sent per second: one per advertisement interval from each MASTER.',
      g.targets([[
        h.counterRate('havip_vrrp_adverts_sent_total', scope, by=byInstance),
        '{{instance}} {{vrrp_instance}}',
      ]]),
      unit='pps',
    )),
    g.add(g.timeseries(
      'Advertisements received',
      'Valid advertisements received per second.',
      g.targets([[
        h.counterRate('havip_vrrp_adverts_received_total', scope, by=byInstance),
        '{{instance}} {{vrrp_instance}}',
      ]]),
      unit='pps',
    )),
  ],

  // havip monitor: every VRRP group on the monitored segments, whoever runs it. A group is
  // (interface, family, vrid) as one monitor (`instance`) hears it.
  local segmentGroup = 'instance, interface, family, vrid',
  local segmentScope = h.routerScope,
  local segment = [
    g.add(g.stat(
      panel[0],
      panel[1],
      g.targets([[panel[2], '']]),
      steps=redFromOne,
    ), 8, 4)
    for panel in [
      [
        'Segment split brain',
        'Groups on the monitored segments with more than one advertising master '
        + '(alert HavipSegmentSplitBrain).',
        'count((%s) > 1) or vector(0)' % h.selector('havip_monitor_masters', segmentScope),
      ],
      [
        'Segment silent groups',
        'Groups heard before that no router advertises now (alert HavipSegmentSilent).',
        'count((%s) == 1) or vector(0)' % h.selector('havip_monitor_silent', segmentScope),
      ],
      [
        'Segment misconfigured groups',
        'Groups whose routers advertise different intervals, versions, auth, passwords, '
        + 'address lists or checksum forms (alert HavipSegmentMisconfigured).',
        'count(count by (%s) ((%s) == 1)) or vector(0)'
        % [segmentGroup, h.selector('havip_monitor_disagreement', segmentScope)],
      ],
    ]
  ] + [
    g.add(g.table(
      'Segment groups',
      "Every VRRP group each monitor hears: the master's priority, interval and version, "
      + 'the speakers advertising now (red unless exactly one) and heard lately. The '
      + "monitor's /status names the speakers.",
      [
        g.target(h.selector(metric[1], segmentScope), ref=metric[0], table=true)
        for metric in [
          ['A', 'havip_monitor_master_priority'],
          ['B', 'havip_monitor_master_advert_interval_seconds'],
          ['C', 'havip_monitor_master_version'],
          ['D', 'havip_monitor_masters'],
          ['E', 'havip_monitor_speakers'],
        ]
      ],
      transformations=[
        { id: 'merge', options: {} },
        g.hideAndRename(['Time', 'job'], {
          instance: 'Monitor',
          'Value #A': 'Master priority',
          'Value #B': 'Interval (s)',
          'Value #C': 'Version',
          'Value #D': 'Advertising',
          'Value #E': 'Speakers',
        }),
      ],
      overrides=[
        g.fieldOverride('Advertising', [
          ['color', { mode: 'thresholds' }],
          ['custom.cellOptions', { type: 'color-background' }],
          ['thresholds', g.thresholds([['red', null], ['green', 1], ['red', 2]])],
        ]),
      ],
    ), 24, 8),
    g.add(g.timeseries(
      'Segment failovers',
      'Changes of master each monitor saw per interval, and the 90th percentile of '
      + "their duration (old master's last advert to the new one's first).",
      g.targets([
        [
          'sum by (%s) (increase(%s%s))' % [
            segmentGroup,
            h.selector('havip_monitor_failover_duration_seconds_count', segmentScope),
            h.rate,
          ],
          '{{interface}} {{family}} VRID {{vrid}} failovers',
        ],
        [
          h.quantile(
            '0.9', 'havip_monitor_failover_duration_seconds', segmentScope, by='le, ' + segmentGroup
          ),
          '{{interface}} {{family}} VRID {{vrid}} p90 duration (s)',
        ],
      ]),
      decimals=1,
    )),
    g.add(g.timeseries(
      'Segment malformed packets',
      'Captured VRRP packets routers drop, per second by reason '
      + '(alert HavipSegmentMalformedPackets).',
      g.targets([[
        h.counterRate(
          'havip_monitor_packets_malformed_total', segmentScope, by='instance, interface, reason'
        ),
        '{{instance}} {{interface}} {{reason}}',
      ]]),
      unit='pps',
    )),
  ],

  grafanaDashboards+:: {
    'havip-fleet-overview.json': h.dashboard(
      'havip-fleet-overview.json',
      'Fleet overview',
      'Every VRRP group havip routers take part in: masters, split brain, transitions, '
      + 'failover durations, advertisements and rejected packets.',
      [g.row('Groups')] + indicators + tables
      + [g.row('State')] + state
      + [g.row('Failover')] + h.durationPanels(scope)
      + [g.row('Advertisements and packets')] + adverts
      + h.packetPanels(rejectedScope=h.routerScope, authScope=scope, per=['instance'])
      + [g.row('Segment (havip monitor)')] + segment,
      multi=true,
    ),
  },
}
