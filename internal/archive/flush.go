package archive

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// flushJob is the write of one partition file. Sync runs its jobs in
// parallel: encoding is CPU work and the fsyncs of separate files overlap, so
// a Sync of several partitions costs about one file write, not their sum.
type flushJob struct {
	dir, name string
	// first jobs (of derived tables, such as ethereum's
	// validator_metadata_events) are renamed into place, and their
	// directories fsynced, before the others: see Writer.Contains.
	first bool
	write func() (tmp string, err error) // encode and fsync the temporary file
	done  func()                         // record success; called with the Writer's mutex held

	tmp string
	err error
}

func (j *flushJob) fail(err error) {
	if j.err == nil {
		j.err = fmt.Errorf("write %s: %w", filepath.Join(j.dir, j.name), err)
	}
}

// runJobs writes the jobs' files: temporary files in parallel, then renames
// (first jobs, their directory fsyncs, then the rest). A job that fails
// leaves its rows pending; when a first job fails the rest are not made
// visible either. Called with the Writer's mutex held.
func (w *Writer) runJobs(jobs []*flushJob) {
	for _, j := range jobs {
		if err := w.ensureDir(j.dir); err != nil {
			j.fail(err)
		}
	}
	w.parallel(len(jobs), func(i int) {
		j := jobs[i]
		if j.err != nil {
			return
		}
		tmp, err := j.write()
		if err != nil {
			j.fail(err)
			return
		}
		j.tmp = tmp
	})
	var first, rest []*flushJob
	for _, j := range jobs {
		if j.first {
			first = append(first, j)
		} else {
			rest = append(rest, j)
		}
	}
	firstOK := w.commit(first)
	if !firstOK {
		for _, j := range rest {
			j.fail(errors.New("not made visible because a derived table's file failed first; retried at the next Sync"))
		}
	}
	w.commit(rest)
	for _, j := range jobs {
		if j.err != nil {
			if j.tmp != "" {
				_ = os.Remove(j.tmp)
			}
			// The directory may have been removed under us: make it again.
			delete(w.dirs, j.dir)
			continue
		}
		j.done()
	}
}

// commit renames the written jobs into place and fsyncs their directories;
// it reports whether every job succeeded.
func (w *Writer) commit(jobs []*flushJob) bool {
	dirs := map[string][]*flushJob{}
	for _, j := range jobs {
		if j.err != nil {
			continue
		}
		if err := os.Rename(j.tmp, filepath.Join(j.dir, j.name)); err != nil {
			j.fail(fmt.Errorf("rename temporary file into place: %w", err))
			continue
		}
		j.tmp = ""
		dirs[j.dir] = append(dirs[j.dir], j)
	}
	list := make([]string, 0, len(dirs))
	for d := range dirs {
		list = append(list, d)
	}
	w.parallel(len(list), func(i int) {
		if err := syncDir(list[i]); err != nil {
			// The files are visible but may not survive a crash: the rows
			// stay pending and the next Sync writes the file again.
			for _, j := range dirs[list[i]] {
				j.fail(err)
			}
		}
	})
	for _, j := range jobs {
		if j.err != nil {
			return false
		}
	}
	return true
}

// parallel calls fn(0..n-1) on up to SyncWorkers goroutines. Each fn touches
// only its own job.
func (w *Writer) parallel(n int, fn func(i int)) {
	workers := min(n, w.o.SyncWorkers)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// ensureDir creates a partition directory once per Writer: creating and
// fsyncing the directory chain costs several fsyncs, too many for every
// Sync. Called with the Writer's mutex held.
func (w *Writer) ensureDir(dir string) error {
	if _, ok := w.dirs[dir]; ok {
		return nil
	}
	if err := makeDirs(dir, w.base); err != nil {
		return err
	}
	w.dirs[dir] = struct{}{}
	return nil
}
