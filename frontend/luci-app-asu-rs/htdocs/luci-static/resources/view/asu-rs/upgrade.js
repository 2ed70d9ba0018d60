'use strict';
'require view';
'require uci';

// A mount point for the upgrade app; the app comes from the build server
// in attendedsysupgrade.server.url and talks to this router through ubus
// with the page's own session.
return view.extend({
	load: function() {
		return uci.load('attendedsysupgrade').catch(function() {});
	},

	render: function() {
		var server = String(uci.get('attendedsysupgrade', 'server', 'url') || '').replace(/\/+$/, '');
		var mount = E('div', {
			'id': 'asu-app',
			'data-server-url': server,
			'data-ubus-url': (L.env.ubuspath || '/ubus/').replace(/\/+$/, ''),
			'data-session': L.env.sessionid
		}, E('p', { 'class': 'spinning' }, _('Loading the upgrade app…')));
		var fail = function(text) {
			mount.replaceChildren(E('p', { 'class': 'alert-message warning' }, text));
		};
		if (!/^https?:\/\//.test(server))
			fail(_('Set attendedsysupgrade.server.url to the address of the build server.'));
		else (function start() {
			// The app mounts into #asu-app, so it starts once LuCI shows the page.
			if (!document.body.contains(mount))
				return window.setTimeout(start, 50);
			import(server + '/app/frontend.js').then(function(app) {
				mount.replaceChildren();
				return app.default();
			}).catch(function(e) {
				fail(_('Could not load the upgrade app from %s: %s').format(server, e));
			});
		})();
		return mount;
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
