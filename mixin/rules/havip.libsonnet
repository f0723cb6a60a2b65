// Recording rules: each VRRP group's masters, backups, routers and the adverts they hear.
//
// A VRRP group is the set of routers that share a VRID, an address family and a VIP set.
// havip_vrrp_instance_info carries all three, so routers are grouped by (vrid, family, vips):
// two networks that reuse VRID 51 for different VIPs are two groups, and two routers that
// name the same instance differently (VI_1 / vrrp51) are still one group.
{
  local promql = (import '../lib/promql.libsonnet')($._config),
  local s = promql.selector,
  local vars = {
    group: promql.groupLabels,
    info: promql.groupInfoLabels,
    key: promql.instanceKey,
    rate: $._config.rateInterval,
    state: s('havip_vrrp_state'),
    instanceInfo: s('havip_vrrp_instance_info'),
    received: s('havip_vrrp_adverts_received_total'),
  },

  prometheusRules+:: {
    groups+: [{
      name: 'havip.recording',
      rules: [
        {
          // havip_vrrp_state with the group labels of its instance attached.
          record: 'havip:vrrp_state:group',
          expr: |||
            %(state)s
              * on (%(key)s) group_left (%(info)s)
            %(instanceInfo)s
          ||| % vars,
        },
        {
          record: 'havip:vrrp_group_masters:count',
          expr: 'sum by (%(group)s) (havip:vrrp_state:group{state="master"})' % vars,
        },
        {
          record: 'havip:vrrp_group_backups:count',
          expr: 'sum by (%(group)s) (havip:vrrp_state:group{state="backup"})' % vars,
        },
        {
          record: 'havip:vrrp_group_routers:count',
          expr: 'count by (%(group)s) (%(instanceInfo)s)' % vars,
        },
        {
          // Adverts that the havip routers of a group hear: a master exists even when it is a
          // router havip does not see (keepalived in the same group).
          record: 'havip:vrrp_group_adverts_received:rate%(rate)s' % vars,
          expr: |||
            sum by (%(group)s) (
              rate(%(received)s[%(rate)s])
                * on (%(key)s) group_left (%(info)s)
              %(instanceInfo)s
            )
          ||| % vars,
        },
      ],
    }],
  },
}
