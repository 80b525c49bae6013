console.log('strata cli: not wired yet')
