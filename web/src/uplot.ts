/** uPlot and its stylesheet, split into their own chunk (see chart.tsx). */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export default uPlot;
