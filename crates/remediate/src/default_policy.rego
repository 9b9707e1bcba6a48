package faultline

import rego.v1

default_tools := {"kubectl", "helm", "terraform", "ansible-playbook", "psql", "curl", "echo", "git", "gitops"}

# Hosts may replace the tool list with data.faultline.allowed_tools.
tools contains t if {
	some t in data.faultline.allowed_tools
}

tools contains t if {
	not data.faultline.allowed_tools
	some t in default_tools
}

delete_words := {"delete", "destroy", "drop", "DROP", "rm", "-delete", "--force"}

deny contains msg if {
	input.production
	some step in input.steps
	some word in step.words
	word in delete_words
	msg := sprintf("step %d (%s) would delete ('%s') in production", [step.index + 1, step.action, word])
}

deny contains msg if {
	some step in input.steps
	not step.tool in tools
	msg := sprintf("step %d (%s) uses '%s', which is not an allowed tool", [step.index + 1, step.action, step.tool])
}

deny contains msg if {
	allowed := data.faultline.allowed_namespaces
	some step in input.steps
	step.namespace != ""
	not step.namespace in allowed
	msg := sprintf("step %d (%s) targets namespace '%s', which is not allowed", [step.index + 1, step.action, step.namespace])
}

deny contains msg if {
	input.production
	window := data.faultline.change_window
	not in_window(window)
	msg := sprintf("production changes are allowed only between %d:00 and %d:00 UTC on weekdays %v", [window.start_hour_utc, window.end_hour_utc, window.weekdays])
}

in_window(w) if {
	input.now.hour_utc >= w.start_hour_utc
	input.now.hour_utc < w.end_hour_utc
	input.now.weekday in w.weekdays
}

deny contains msg if {
	max := data.faultline.max_steps
	count(input.steps) > max
	msg := sprintf("plan has %d steps, more than the limit of %d", [count(input.steps), max])
}
