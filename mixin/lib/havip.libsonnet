// What havip's dashboards share: the variables, the matchers they put in every query, the state
// encoding, and the query and panel fragments both dashboards show.
//   local h = (import 'lib/havip.libsonnet')($._config);
local g = import 'grafana.libsonnet';

function(config) {
  local h = self,
  local promql = (import 'promql.libsonnet')(config),

  // Matchers from the dashboard variables.
  job:: std.join(', ', (if config.showMultiCluster then ['%s=~"$cluster"' % config.clusterLabel]
                        else []) + ['job=~"$job"']),
  router:: 'instance=~"$router"',
  vrrpInstance:: 'vrrp_instance=~"$vrrp_instance"',
  scope:: [h.job, h.router, h.vrrpInstance],
  routerScope:: [h.job, h.router],
  rate:: '[$__rate_interval]',
  groupLabels:: promql.groupLabels,
  groupInfoLabels:: promql.groupInfoLabels,
  instanceKey:: promql.instanceKey,

  // The state timeline and stat panels need one number per state, in havip's State order.
  states:: [
    { name: 'init', code: 1, color: 'text' },
    { name: 'backup', code: 2, color: 'blue' },
    { name: 'master', code: 3, color: 'green' },
    { name: 'fault', code: 4, color: 'red' },
    { name: 'stop', code: 5, color: 'purple' },
  ],
  stateCodeMapping:: g.valueMapping([
    [std.toString(s.code), std.asciiUpper(s.name), s.color]
    for s in h.states
  ]),
  stateLabelMapping:: g.valueMapping([[s.name, std.asciiUpper(s.name), s.color] for s in h.states]),
  upMapping:: g.valueMapping([['0', 'DOWN', 'red'], ['1', 'UP', 'green']]),

  // --- PromQL ---------------------------------------------------------------------------

  // `name{matchers}`; the dashboards' own matchers come from their variables.
  selector(name, matchers):: '%s{%s}' % [name, std.join(', ', matchers)],
  stateMatcher(state):: 'state="%s"' % state,

  // Attach vrid, family and vips from havip_vrrp_instance_info to a per-instance vector.
  withGroupLabels(expr)::
    '%s * on (%s) group_left (%s) %s' % [
      expr,
      h.instanceKey,
      h.groupInfoLabels,
      h.selector('havip_vrrp_instance_info', [h.job]),
    ],

  // Routers per group in `state`, over every router of the job: not filtered by router or
  // VRRP instance, since a split brain shows only with all routers.
  groupStateCount(state)::
    local states = h.selector('havip_vrrp_state', [h.job, h.stateMatcher(state)]);
    'sum by (%s) (%s)' % [h.groupLabels, h.withGroupLabels(states)],

  // Advertisements per second the havip routers of each group hear, from any master.
  groupAdvertsReceived::
    local received = 'rate(%s%s)' % [h.selector('havip_vrrp_adverts_received_total', [h.job]), h.rate];
    'sum by (%s) (%s)' % [h.groupLabels, h.withGroupLabels(received)],

  // One series per router and VRRP instance whose value is the code of its state.
  stateCode(matchers)::
    local parts = [
      '%s * %d' % [h.selector('havip_vrrp_state', matchers + [h.stateMatcher(s.name)]), s.code]
      for s in h.states
    ];
    'max by (%s) (%s)' % [h.instanceKey, std.join(' or ', parts)],

  // [q, legend]: q as PromQL text (a jsonnet number would print 0.99 as 0.98999999999999999).
  percentiles:: [['0.5', 'p50'], ['0.9', 'p90'], ['0.99', 'p99']],
  // The q-quantile of a histogram over the dashboard's rate interval.
  quantile(q, metric, matchers, by='le')::
    local buckets = 'rate(%s%s)' % [h.selector(metric + '_bucket', matchers), h.rate];
    'histogram_quantile(%s, sum by (%s) (%s))' % [q, by, buckets],

  counterRate(metric, matchers, by)::
    'sum by (%s) (rate(%s%s))' % [by, h.selector(metric, matchers), h.rate],
  counterIncrease(metric, matchers, by)::
    'sum by (%s) (increase(%s%s))' % [by, h.selector(metric, matchers), h.rate],

  // --- variables and the dashboard --------------------------------------------------------

  variables(multi)::
    [g.datasourceVariable]
    + (if config.showMultiCluster then [
         g.queryVariable(
           'cluster', 'Cluster', 'label_values(havip_build_info, %s)' % config.clusterLabel, multi
         ),
       ] else [])
    + [
      g.queryVariable(
        'job',
        'Job',
        if config.showMultiCluster then 'label_values(havip_build_info{%s=~"$cluster"}, job)'
                                        % config.clusterLabel
        else 'label_values(havip_build_info, job)',
        multi,
      ),
      g.queryVariable(
        'router', 'Router', 'label_values(%s, instance)' % h.selector('havip_build_info', [h.job]), multi
      ),
      g.queryVariable(
        'vrrp_instance',
        'VRRP instance',
        'label_values(%s, vrrp_instance)' % h.selector('havip_vrrp_instance_info', h.routerScope),
        multi,
      ),
    ],

  dashboard(file, title, description, items, multi)::
    g.dashboard(
      config.dashboardUIDs[file],
      config.dashboardTitlePrefix + title,
      description,
      items,
      h.variables(multi),
      config.dashboardTags,
    ),

  // --- panels both dashboards show ---------------------------------------------------------

  // Failover and takeover percentiles; exemplars link a failover to its trace. The takeover
  // histogram is the router's (havip's own work), not an instance's: no vrrp_instance matcher.
  durationPanels(scope):: [
    g.add(g.timeseries(
      panel.title,
      panel.description,
      g.targets(
        [[h.quantile(q[0], panel.metric, panel.scope), q[1]] for q in h.percentiles],
        exemplarFirst=true,
      ),
      unit='s',
    ), 12, 8)
    for panel in [
      {
        metric: 'havip_vrrp_failover_duration_seconds',
        scope: scope,
        title: 'Failover duration',
        description: "From the old master's last advertisement heard to the VIPs installed and "
                     + "announced on the new master. Exemplars link to the transition's trace when the "
                     + 'Prometheus datasource has a trace datasource for the trace_id label.',
      },
      {
        metric: 'havip_vrrp_takeover_duration_seconds',
        scope: std.filter(function(m) m != h.vrrpInstance, scope),
        title: "Takeover duration (havip's share)",
        description: "havip's own share of each failover: from deciding to become master to the VIPs "
                     + "announced. Exemplars link to the transition's trace.",
      },
    ]
  ],

  // Rejected packets and auth failures by reason, split by the labels in `per` as well.
  packetPanels(rejectedScope, authScope, per)::
    local perBy = std.join('', ['%s, ' % label for label in per]);
    local perLegend = std.join('', ['{{%s}} ' % label for label in per]);
    [
      g.add(g.timeseries(
        'Rejected packets by reason',
        'VRRP packets dropped per second, by interface and reason. vrid (other groups on '
        + 'the link) and own_advert are normal; see the runbook for the others.',
        g.targets([[
          h.counterRate('havip_vrrp_packets_rejected_total', rejectedScope, by=perBy + 'interface, reason'),
          perLegend + '{{interface}} {{reason}}',
        ]]),
        unit='pps',
      )),
      g.add(g.timeseries(
        'Authentication failures by reason',
        'Advertisements dropped per second because authentication failed '
        + '(invalid_type, type_mismatch, password).',
        g.targets([[
          h.counterRate('havip_vrrp_auth_failures_total', authScope, by=perBy + 'vrrp_instance, reason'),
          perLegend + '{{vrrp_instance}} {{reason}}',
        ]]),
        unit='pps',
      )),
    ],
}
