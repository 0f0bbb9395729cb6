"""Demo provider: a Flask service with a fast and a slow endpoint."""

import os
import time

from flask import Flask, jsonify

app = Flask(__name__)


@app.route('/inventory/<item>')
def inventory(item: str):
    time.sleep(0.02)
    return jsonify({'item': item, 'in_stock': item != 'unicorn'})


app.run(host='127.0.0.1', port=int(os.environ.get('PORT', '9091')), threaded=True)
